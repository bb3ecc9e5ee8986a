//! The attachment settings' parsing (issue #31): which types may be sent,
//! the largest file, and (local provider) each user's quota.

use protocol::files::{DEFAULT_MAX_BYTES, KNOWN_TYPES};

use super::*;

/// The largest file an operator may allow (bytes): the local server holds
/// an upload's head in memory and Twilio's own media limit is far above.
pub const MAX_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// The default total a user may have stored with the local provider.
pub const DEFAULT_QUOTA_BYTES: u64 = 200 * 1024 * 1024;

/// What may be attached; `types` empty means attachments are off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentSettings {
    /// MIME types, each one of [`KNOWN_TYPES`], in the operator's order.
    pub types: Vec<String>,
    pub max_bytes: u64,
    /// Per user, for the local provider's file store.
    pub quota_bytes: u64,
}

impl Default for AttachmentSettings {
    fn default() -> Self {
        Self {
            types: KNOWN_TYPES.iter().map(|t| (*t).to_owned()).collect(),
            max_bytes: DEFAULT_MAX_BYTES,
            quota_bytes: DEFAULT_QUOTA_BYTES,
        }
    }
}

impl AttachmentSettings {
    /// The window's view of these settings (`None`: attachments are off).
    pub fn policy(&self) -> Option<protocol::AttachmentPolicy> {
        (!self.types.is_empty()).then(|| protocol::AttachmentPolicy {
            types: self.types.clone(),
            max_bytes: self.max_bytes,
        })
    }

    pub fn allows(&self, content_type: &str) -> bool {
        self.types.iter().any(|t| t == content_type)
    }
}

pub(super) fn parse_attachments(raw: &RawSettings) -> Result<AttachmentSettings, SettingsError> {
    let defaults = AttachmentSettings::default();
    let types = match raw.get(ATTACHMENT_TYPES).map(str::trim) {
        None => defaults.types,
        Some("off") => Vec::new(),
        Some(list) => {
            let mut types: Vec<String> = Vec::new();
            for t in list
                .split(',')
                .map(|t| t.trim().to_ascii_lowercase())
                .filter(|t| !t.is_empty())
            {
                if !KNOWN_TYPES.contains(&t.as_str()) {
                    return Err(raw.error(
                        ATTACHMENT_TYPES,
                        format!(
                            "{t:?} is not a type DAChat can check; use some of {} (or off)",
                            KNOWN_TYPES.join(", ")
                        ),
                    ));
                }
                if !types.contains(&t) {
                    types.push(t);
                }
            }
            if types.is_empty() {
                return Err(raw.error(ATTACHMENT_TYPES, "lists no types (write off to turn attachments off)"));
            }
            types
        }
    };
    let max_bytes = parse_number(raw, ATTACHMENT_MAX_BYTES, defaults.max_bytes, "bytes")?;
    if !(1..=MAX_MAX_BYTES).contains(&max_bytes) {
        return Err(raw.error(
            ATTACHMENT_MAX_BYTES,
            format!("must be between 1 and {MAX_MAX_BYTES} bytes"),
        ));
    }
    let quota_bytes = parse_number(raw, ATTACHMENT_QUOTA_BYTES, defaults.quota_bytes, "bytes")?;
    if quota_bytes < max_bytes {
        return Err(raw.error(
            ATTACHMENT_QUOTA_BYTES,
            format!("must be at least the largest file ({max_bytes} bytes)"),
        ));
    }
    Ok(AttachmentSettings {
        types,
        max_bytes,
        quota_bytes,
    })
}
