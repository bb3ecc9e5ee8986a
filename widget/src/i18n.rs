//! The window's words in the user's language.
//!
//! English is compiled in ([`Msg`], [`EN`], made by `build.rs` from
//! `locales/en.txt`): the core's lines in the core, a piece's own words
//! (`commands.*`, `notify.*`, `attach.*`, `actions.*`: [`EN_COMMANDS`],
//! [`EN_NOTIFY`], [`EN_ATTACH`], [`EN_ACTIONS`]) in that piece,
//! which hands them over with [`speak`] when it arrives. Another locale's
//! catalog is a small file the loader
//! fetches beside the widget and hands over with `open` or `setLocale`
//! (one line per message, see `i18n_catalog.rs`). A catalog that does not
//! fit this build (a truncated download, another release's file) is
//! refused as a whole and the window stays in English: never a mix of
//! wrong lines.
//!
//! Plurals follow the browser's `Intl.PluralRules` for the locale, and
//! times and days its `Intl` date formatting (see [`crate::browser`]), so
//! no locale data is inside the WASM.

use std::cell::RefCell;

include!(concat!(env!("OUT_DIR"), "/messages.rs"));

/// The separator of a compiled plural line (`i18n_catalog::SEP`).
const SEP: char = '\u{1f}';

/// A piece's English lines: the index of its first message, and the lines.
pub type Words = (usize, &'static [&'static str]);

/// The locales the window speaks (catalogs in `locales/`).
pub const SUPPORTED: [&str; 8] = ["en", "fr", "es", "de", "el", "uk", "ar", "fa"];

struct Catalog {
    lang: String,
    /// One per [`Msg`]; empty for English.
    lines: Vec<String>,
    #[cfg(target_arch = "wasm32")]
    rules: Option<js_sys::Intl::PluralRules>,
}

thread_local! {
    /// The English words of the pieces that have arrived.
    static PIECE_WORDS: RefCell<Vec<Words>> = const { RefCell::new(Vec::new()) };
    static CATALOG: RefCell<Catalog> = RefCell::new(Catalog {
        lang: "en".into(),
        lines: Vec::new(),
        #[cfg(target_arch = "wasm32")]
        rules: None,
    });
}

/// Switches to `lang` with its compiled catalog `text` (unused for
/// English). `false` when the catalog does not fit (or the locale is not
/// one of [`SUPPORTED`]): the window speaks English then.
pub fn set(lang: &str, text: &str) -> bool {
    let lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let fits = SUPPORTED.contains(&lang)
        && lang != "en"
        && lines.len() == MSG_COUNT
        && lines
            .iter()
            .zip(0u16..)
            .all(|(line, i)| !line.is_empty() && line.contains(SEP) == PLURAL.contains(&i));
    let spoken = fits || lang == "en";
    let (lang, lines) = if fits { (lang, lines) } else { ("en", Vec::new()) };
    CATALOG.with(|c| {
        *c.borrow_mut() = Catalog {
            lang: lang.to_owned(),
            lines,
            #[cfg(target_arch = "wasm32")]
            rules: None,
        }
    });
    spoken
}

/// The locale the window speaks, e.g. `"ar"`.
pub fn lang() -> String {
    CATALOG.with(|c| c.borrow().lang.clone())
}

/// Whether the window speaks English (server texts are English too).
pub fn english() -> bool {
    CATALOG.with(|c| c.borrow().lines.is_empty())
}

/// The writing direction of the locale: `"rtl"` for Arabic and Farsi.
pub fn dir() -> &'static str {
    if matches!(lang().as_str(), "ar" | "fa") {
        "rtl"
    } else {
        "ltr"
    }
}

/// A piece has arrived with its English `words` ([`EN_NOTIFY`], …).
pub fn speak(words: Words) {
    PIECE_WORDS.with(|w| {
        let mut w = w.borrow_mut();
        if !w.iter().any(|(start, _)| *start == words.0) {
            w.push(words);
        }
    });
}

fn line(message: Msg) -> String {
    let index = message as usize;
    CATALOG
        .with(|c| c.borrow().lines.get(index).cloned())
        .or_else(|| EN.get(index).map(|l| (*l).to_owned()))
        .or_else(|| {
            PIECE_WORDS.with(|w| {
                w.borrow()
                    .iter()
                    .find_map(|(start, lines)| lines.get(index.checked_sub(*start)?))
                    .map(|l| (*l).to_owned())
            })
        })
        .unwrap_or_default()
}

/// A message without placeholders.
pub fn t(message: Msg) -> String {
    line(message)
}

/// A message with its `{placeholders}` filled in from `args`.
pub fn tf(message: Msg, args: &[(&str, &str)]) -> String {
    fill(&line(message), args)
}

/// A plural message for the count `n` (also the placeholder `{n}`).
pub fn tn(message: Msg, n: u32, args: &[(&str, &str)]) -> String {
    let line = line(message);
    let category = plural_category(n);
    let forms: Vec<&str> = line.split(SEP).collect();
    let form = forms
        .chunks(2)
        .find(|pair| pair[0] == category)
        .or_else(|| forms.chunks(2).find(|pair| pair[0] == "other"))
        .and_then(|pair| pair.get(1))
        .copied()
        .unwrap_or(&line);
    let count = n.to_string();
    let mut all = args.to_vec();
    all.push(("n", &count));
    fill(form, &all)
}

/// The CLDR plural category of `n` in the current locale.
fn plural_category(n: u32) -> String {
    #[cfg(target_arch = "wasm32")]
    {
        CATALOG.with(|c| {
            let mut c = c.borrow_mut();
            if c.rules.is_none() {
                let locales = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(&c.lang));
                c.rules = Some(js_sys::Intl::PluralRules::new(&locales, &js_sys::Object::new()));
            }
            c.rules
                .as_ref()
                .map(|r| String::from(r.select(f64::from(n))))
                .unwrap_or_default()
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        // native builds (tests) speak English
        if n == 1 { "one" } else { "other" }.to_owned()
    }
}

/// `text` with each `{name}` of `args` replaced (others are left as written).
pub fn fill(text: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            let name = &after[..close];
            args.iter().find(|(k, _)| *k == name).map(|(_, v)| (close, *v))
        }) {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The catalog's words for a provider's error `code` (the local chat's
/// frames and the Twilio bridge's calls), if it has them.
pub fn for_code(code: &str) -> Option<Msg> {
    Some(match code {
        "join_failed" => Msg::ErrorJoinFailed,
        "send_failed" => Msg::ErrorSendFailed,
        "edit_failed" => Msg::ErrorEditFailed,
        "delete_failed" => Msg::ErrorDeleteFailed,
        "history_failed" => Msg::ErrorHistoryFailed,
        "nick_failed" => Msg::ErrorNickFailed,
        "muted" => Msg::ErrorMuted,
        "not_a_member" | "not_yours" => Msg::ErrorNoAccess,
        "unavailable" => Msg::ErrorUnavailable,
        "rate_limited" => Msg::ErrorTooMany,
        "bad_address" => Msg::NotifyBadAddress,
        "code_limit" => Msg::NotifyCodeLimit,
        "code_locked" => Msg::NotifyCodeLocked,
        "code_expired" => Msg::NotifyCodeExpired,
        "wrong_code" => Msg::NotifyWrongCode,
        "no_code" => Msg::NotifyNoCode,
        "mail_unavailable" => Msg::NotifyMailUnavailable,
        "mail_refused" => Msg::NotifyMailRefused,
        _ => return None,
    })
}

/// What to show for a refusal the service explained: its own (English)
/// words in an English window, which may be more precise, the catalog's
/// otherwise; the service's words when the catalog has none.
pub fn refusal(code: &str, message: &str, room: Option<&str>) -> String {
    let known = match code {
        "room_closed" => Some(tf(Msg::ErrorRoomClosed, &[("room", room.unwrap_or_default())])),
        _ => for_code(code).map(t),
    };
    match known {
        Some(known) if !english() || message.is_empty() => known,
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every English line, the core's and the pieces'.
    fn all_english() -> impl Iterator<Item = &'static str> {
        EN.iter()
            .chain(EN_COMMANDS.1)
            .chain(EN_NOTIFY.1)
            .chain(EN_ATTACH.1)
            .chain(EN_ACTIONS.1)
            .copied()
    }

    #[test]
    fn a_pieces_words_are_spoken_once_it_has_arrived() {
        assert_eq!(
            EN.len() + EN_COMMANDS.1.len() + EN_NOTIFY.1.len() + EN_ATTACH.1.len() + EN_ACTIONS.1.len(),
            MSG_COUNT
        );
        assert_eq!(EN_COMMANDS.0, EN.len());
        speak(EN_NOTIFY);
        assert_eq!(t(Msg::NotifyOff), "Off");
        assert_eq!(t(Msg::NotifyToggleLabel), "E-mail me about messages I miss");
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        assert_eq!(fill("{a} and {b}", &[("a", "1"), ("b", "{a}")]), "1 and {a}");
        assert_eq!(fill("{x} {", &[]), "{x} {");
        assert_eq!(tf(Msg::LogJoined, &[("name", "Amal")]), "Amal joined");
    }

    #[test]
    fn a_catalog_that_does_not_fit_leaves_english() {
        assert!(!set("fr", "trop court"));
        assert_eq!(lang(), "en");
        assert_eq!(t(Msg::ComposerSend), "Send");
        // the right number of lines, but a plural message where a plain one belongs
        let mut lines: Vec<String> = all_english().map(|l| format!("fr {l}")).collect();
        lines[0] = format!("one{SEP}x{SEP}other{SEP}y");
        assert!(!set("fr", &lines.join("\n")));
        assert!(
            !set("xx", &all_english().collect::<Vec<_>>().join("\n")),
            "a locale we do not ship"
        );
    }

    #[test]
    fn a_fitting_catalog_is_spoken_with_its_plurals_and_direction() {
        let lines: Vec<String> = all_english()
            .map(|l| {
                if l.contains(SEP) {
                    format!("one{SEP}{{names}} ONE{SEP}other{SEP}{{names}} ({{n}}) OTHER")
                } else {
                    format!("«{l}»")
                }
            })
            .collect();
        assert!(set("ar", &lines.join("\n")));
        assert_eq!((lang().as_str(), dir(), english()), ("ar", "rtl", false));
        assert_eq!(t(Msg::ComposerSend), "«Send»");
        assert_eq!(tn(Msg::ComposerTyping, 1, &[("names", "a")]), "a ONE");
        assert_eq!(tn(Msg::ComposerTyping, 2, &[("names", "a, b")]), "a, b (2) OTHER");
        assert_eq!(
            refusal("wrong_code", "That code is wrong", None),
            "«This code is not right. Check the e-mail and try again.»"
        );
        assert!(set("en", ""));
        assert_eq!(
            (dir(), refusal("wrong_code", "That code is wrong", None).as_str()),
            ("ltr", "That code is wrong")
        );
        assert_eq!(
            refusal("room_closed", "", Some("general")),
            "You no longer have access to general."
        );
    }
}
