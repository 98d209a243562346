//! Deterministic engine tests: the sans-I/O engine against the built-in simulated stick, with
//! simulated time and the real incoming store on a temporary spool.
