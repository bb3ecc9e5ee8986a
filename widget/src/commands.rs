//! What the composer's text means: a message, or a slash command.
//! [`plain`] (in the core) tells a message from a command; [`parse`]
//! names the command and is the commands piece ([`crate::pieces`]).

/// One line typed into the composer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Message(String),
    /// `/me waves` is sent as `_waves_` (an action, in italics).
    Action(String),
    Join(String),
    /// `/nick` alone clears the nickname.
    Nick(Option<String>),
    Help,
    Unknown(String),
    Empty,
}

/// A line that is not a command: nothing, or a message (`None`: a
/// command, for [`parse`]).
pub fn plain(text: &str) -> Option<Input> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Some(Input::Empty);
    }
    match trimmed.strip_prefix('/') {
        None => Some(Input::Message(text.trim_end().to_owned())),
        // "//text" sends "/text" literally
        Some(command) if command.starts_with('/') => Some(Input::Message(command.to_owned())),
        Some(_) => None,
    }
}

/// What `text` means, commands included.
pub fn parse(text: &str) -> Input {
    if let Some(input) = plain(text) {
        return input;
    }
    let command = text.trim().trim_start_matches('/');
    let (name, rest) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
    let rest = rest.trim();
    match name.to_ascii_lowercase().as_str() {
        "me" if !rest.is_empty() => Input::Action(rest.to_owned()),
        "join" if !rest.is_empty() => Input::Join(rest.to_owned()),
        "nick" => Input::Nick((!rest.is_empty()).then(|| rest.to_owned())),
        "help" => Input::Help,
        _ => Input::Unknown(name.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_commands() {
        assert_eq!(parse("hello\nthere  "), Input::Message("hello\nthere".into()));
        assert_eq!(parse("   "), Input::Empty);
        assert_eq!(parse("/me waves"), Input::Action("waves".into()));
        assert_eq!(parse("/join shipment-1"), Input::Join("shipment-1".into()));
        assert_eq!(parse("/nick  Ali B "), Input::Nick(Some("Ali B".into())));
        assert_eq!(parse("/nick"), Input::Nick(None));
        assert_eq!(parse("/HELP"), Input::Help);
        assert_eq!(parse("/dance"), Input::Unknown("dance".into()));
        assert_eq!(parse("/join"), Input::Unknown("join".into()));
        assert_eq!(parse("//not a command"), Input::Message("/not a command".into()));
    }
}
