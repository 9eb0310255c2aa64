//! A peer's hello: decoding and comparing never panics, whatever arrives.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| garblet_engine::internal::fuzz_hello(data));
