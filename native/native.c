/* In-process helpers for the runtime side (see native/ffi_build.py). */
int pyrunc_native_abi(void) { return 1; }
