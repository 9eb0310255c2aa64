//! The evaluator's output decoding bits as they arrive from the peer: any
//! bytes and any claimed length are an error or a decoder that encodes back
//! to the same bytes, never a panic.
#![no_main]
use garblet_engine::garble::OutputDecoder;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&len, bytes)) = data.split_first() else { return };
    let len = usize::from(len) * 3;
    if let Ok(decoder) = OutputDecoder::from_bytes(bytes, len) {
        assert_eq!(decoder.len(), len);
        assert_eq!(decoder.to_bytes(), bytes, "a decoder re-encodes to the bytes it came from");
    }
});
