//! Session replay, rrweb-compatible (docs: replay-format.md): node ids, the serialized
//! node model, privacy rules, URL rewriting, mutation diffing and the rate limits of the
//! high-frequency sources. No web-sys here: the shell (`web::recorder`) reads the DOM and
//! the clock and hands what it read to these functions.

pub mod controls;
pub mod event;
#[cfg(test)]
pub(crate) mod fake_dom;
pub mod id_counter;
pub mod idhash;
pub mod mutation;
pub mod node;
pub mod privacy;
pub mod protocol;
pub mod sampling;
pub mod url;
pub mod walk;
