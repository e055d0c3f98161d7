//! The browser shell: carries inputs from the browser into `core` and its answers out.
//! Everything here is wasm32-only glue (web-sys, js-sys, fetch).
//!
//! Which shell type drives which core type:
//!
//! | shell (`web::…`) | core (`core::…`) | what the shell does |
//! |---|---|---|
//! | `sightline::Sightline` | `config::Config` (read by `options`) | the JS class: owns the parts below and routes the API's calls to them |
//! | `uploader::Uploader` | `outbox::Outbox` | sends what is due (gzip, `fetch`, keepalive at unload), keeps the persisted copy, adopts other pages' copies |
//! | `gate::GateShell` | `access_gate::AccessGate` | carries out each `Step`'s action (the check's request, its timers) and reports the changes |
//! | `consent::ConsentGate` | `consent` | reads and stores the choice, holds events pending it |
//! | `replay::ReplayDriver` | `replay::controls::ReplayControls`, `browser_session::BrowserSession` | starts and stops the recorder; the browser session in storage |
//! | `recorder::Recorder` | `replay::walk::SnapshotWalk`, `replay::mutation`, `replay::controls::StormGuard`, `replay::id_counter::IdCounter`, `replay::sampling::Sampling` | reads the DOM (`reader.js`), observes mutations and input, runs the slices, keeps one timer at `Sampling::poll_timeout()` |
//! | `privacy::Privacy` | `replay::privacy::classify` | answers what a node matches (one `closest()` per tree) |
//! | `signals::SignalsShell` | `signals::Signals` | the listeners for clicks, page leave, web vitals and errors |
//! | `autocapture::Autocapture` | `replay::privacy::click_text` | `$page-view` and `$click` |

pub mod autocapture;
pub mod consent;
pub mod gate;
pub mod listener;
pub mod options;
pub mod poison;
pub mod privacy;
pub mod recorder;
pub mod replay;
pub mod session;
pub mod sightline;
pub mod signals;
pub mod storage;
pub mod timer;
pub mod transport;
pub mod types;
pub mod uploader;
pub mod util;
