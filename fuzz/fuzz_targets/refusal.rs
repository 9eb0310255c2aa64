//! A service's refusal frame as it arrives in place of a hello: any bytes
//! decode to a typed error, never a panic, and a decoded refusal re-encodes
//! to one that decodes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| garblet_engine::internal::fuzz_refusal(data));
