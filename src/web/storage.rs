//! localStorage, tolerant of browsers that refuse it (private modes, quotas, sandboxed
//! iframes): failures are reported as `false`/`None`, never thrown.

use web_sys::Storage;

fn local_storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

pub fn get(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

/// `false` when the browser refused the write (quota, disabled storage).
pub fn set(key: &str, value: &str) -> bool {
    local_storage().map(|s| s.set_item(key, value).is_ok()).unwrap_or(false)
}

pub fn remove(key: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.remove_item(key);
    }
}

/// Every key starting with `prefix`.
pub fn keys_with_prefix(prefix: &str) -> Vec<String> {
    let Some(storage) = local_storage() else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for i in 0..storage.length().unwrap_or(0) {
        if let Some(key) = storage.key(i).ok().flatten().filter(|k| k.starts_with(prefix)) {
            keys.push(key);
        }
    }
    keys
}
