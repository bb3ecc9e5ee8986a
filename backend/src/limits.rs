//! Size limits of what the API accepts, in one place so the request reader,
//! the error messages and the docs agree.

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
