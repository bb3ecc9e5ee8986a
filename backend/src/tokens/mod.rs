//! Tokens: everything that checks or mints a token, and the keys behind them.
//!
//! - [`host_jwt`]: the host's ES256 JWT checked (a pure function over keys,
//!   token and now): the one place that decides who a caller is and which
//!   rooms they may enter;
//! - [`jwks`]: the host's public keys, fetched and cached (the only I/O here);
//! - [`es256`]: ES256 keys: JWKs and PEM read, key pairs made and signed with
//!   (the operator CLI's dev keys);
//! - [`hs256`]: the compact HS256 signer and checker both access tokens share;
//! - [`twilio_token`]: Twilio access tokens, byte for byte what Twilio's
//!   helper libraries make;
//! - [`local_token`]: the embedded local provider's access tokens.
//!
//! Invariants: a host token is accepted only through [`host_jwt::verify`];
//! no key or token is ever logged or echoed in an error.
//!
//! Imports: the shared base only (`domain`, `secret`, `clock`,
//! `http_client`); never `config`, `twilio`, `notify` or the HTTP layer.

pub mod es256;
pub mod host_jwt;
pub mod hs256;
pub mod jwks;
pub mod local_token;
pub mod twilio_token;
