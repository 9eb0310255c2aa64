//! garblet-compiler: the garblet language, compiled to Boolean circuits.
#![forbid(unsafe_code)]
