//! A minimal wasm module, with and without a deflate encoder, to weigh the encoder.

/// Something to keep the allocator in both builds.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buffer = Vec::with_capacity(len);
    let pointer = buffer.as_mut_ptr();
    std::mem::forget(buffer);
    pointer
}

/// # Safety
/// `pointer` must point to `len` readable bytes.
#[cfg(feature = "encoder")]
#[no_mangle]
pub unsafe extern "C" fn deflate(pointer: *const u8, len: usize) -> usize {
    let input = std::slice::from_raw_parts(pointer, len);
    miniz_oxide::deflate::compress_to_vec(input, 6).len()
}
