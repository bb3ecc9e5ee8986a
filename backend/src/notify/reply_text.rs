//! What of a reply e-mail is the reply (reply by e-mail, issue #14): the
//! words above the quoted digest and the signature. Pure.
//!
//! Mail programs quote in their own ways, and in their users' languages;
//! the cut goes at the first line that starts the quoted or appended part:
//!
//! - the line the digest itself carries ([`crate::notify::digest_mail::REPLY_MARKER`]), quoted
//!   or not: the surest sign, whatever the program;
//! - an attribution line: "On (date), (name) wrote:", in the languages the
//!   aid workers' mail programs speak (also wrapped over two lines, as
//!   Gmail does with long names);
//! - Outlook's separators ("-----Original Message-----", a rule of
//!   underscores, a "From:" line followed by "Sent:"/"Date:"/"To:"...);
//! - the signature separator "-- " (RFC 3676), and "Sent from my phone"
//!   footers.
//!
//! Quoted lines (`>`) are dropped wherever they are. What is left is
//! trimmed, at most [`protocol::MAX_MESSAGE_UNITS`] long (the chat's own
//! limit, which Twilio's is).

use crate::notify::digest_mail::REPLY_MARKER;

/// The verbs of "… wrote:" lines, lowercase, by language.
const WROTE: &[&str] = &[
    "wrote",     // en
    "écrit",     // fr
    "schrieb",   // de
    "escribió",  // es
    "escreveu",  // pt
    "scritto",   // it
    "schreef",   // nl
    "napisał",   // pl
    "написал",   // ru
    "كتب",       // ar
    "نوشت",      // fa
    "yazdı",     // tr
    "skrev",     // da, no, sv
    "kirjoitti", // fi
    "a scris",   // ro
    "написав",   // uk
];

/// Phone and webmail footers that end a reply ("Sent from my iPhone").
const FOOTERS: &[&str] = &[
    "sent from my ",
    "sent from outlook",
    "get outlook for ",
    "envoyé de mon ",
    "von meinem ",
    "enviado desde mi ",
    "enviado do meu ",
    "inviato da ",
    "verzonden vanaf mijn ",
    "отправлено с ",
];

/// The first words of an Outlook header block's second line.
const HEADER_FIELDS: &[&str] = &[
    "sent:",
    "date:",
    "to:",
    "subject:",
    "cc:",
    "envoyé :",
    "envoyé:",
    "à :",
    "objet :",
    "gesendet:",
    "an:",
    "betreff:",
    "enviado:",
    "para:",
    "asunto:",
    "assunto:",
    "inviato:",
    "oggetto:",
];

/// The first words of an Outlook header block's first line.
const FROM_FIELDS: &[&str] = &["from:", "de :", "de:", "von:", "da:", "van:", "от:", "من:"];

/// "On (date), (name) (address) wrote:": ends with a colon, has a verb of
/// [`WROTE`], and a date or an address (so "Here is what I wrote:" is not one).
fn is_attribution(line: &str) -> bool {
    let line = line.trim().to_lowercase();
    if line.len() > 400 || !line.ends_with(':') {
        return false;
    }
    let quoting = line.contains('@') || line.chars().any(char::is_numeric);
    quoting && WROTE.iter().any(|verb| line.contains(verb))
}

fn starts_with_any(line: &str, words: &[&str]) -> bool {
    let line = line.trim().to_lowercase();
    words.iter().any(|w| line.starts_with(w))
}

fn is_separator(lines: &[&str], at: usize) -> bool {
    let line = lines[at].trim();
    if line.contains(REPLY_MARKER) {
        return true;
    }
    // "-- " is the signature separator; a bare "--" too (trailing spaces get lost)
    if lines[at].trim_end() == "--" {
        return true;
    }
    if line.starts_with("-----") && line.ends_with("-----") && line.len() > 10 {
        return true;
    }
    if line.len() >= 20 && line.chars().all(|c| c == '_') {
        return true;
    }
    if starts_with_any(line, FOOTERS) {
        return true;
    }
    if is_attribution(line) {
        return true;
    }
    // an attribution wrapped over two lines ("On …, Name <a@b>\nwrote:")
    if let Some(next) = lines.get(at + 1)
        && !line.is_empty()
        && line.len() < 300
        && is_attribution(&format!("{line} {}", next.trim()))
        && !is_attribution(next)
    {
        return true;
    }
    // Outlook's header block: "From: …" then "Sent: …" (or Date, To, …)
    starts_with_any(line, FROM_FIELDS)
        && lines
            .iter()
            .skip(at + 1)
            .take(3)
            .any(|l| starts_with_any(l, HEADER_FIELDS))
}

/// The reply in `text` (a mail's plain-text body), without quotes and
/// signature; empty when nothing is left.
pub fn strip(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    let mut kept: Vec<&str> = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        if is_separator(&lines, at) {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        kept.push(line.trim_end());
    }
    // no runs of blank lines, none at either end
    let mut out = String::new();
    let mut blank = false;
    for line in kept {
        if line.trim().is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if blank {
            out.push('\n');
            blank = false;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(line);
    }
    bounded(
        out.chars()
            .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
            .collect(),
    )
}

/// `text` cut to [`protocol::MAX_MESSAGE_UNITS`] at a character boundary,
/// with "…".
fn bounded(text: String) -> String {
    if protocol::message_units(&text) <= protocol::MAX_MESSAGE_UNITS {
        return text;
    }
    let mut units = 1; // the "…"
    let end = text
        .char_indices()
        .find(|(_, c)| {
            units += c.len_utf16();
            units > protocol::MAX_MESSAGE_UNITS
        })
        .map_or(text.len(), |(at, _)| at);
    format!("{}…", &text[..end])
}

/// Whether headers (name, value) mark a mail written by a program: an
/// out-of-office answer, a bounce, a list's mail. Those never land in a
/// room (an auto-reply would, at worst, answer the next digest forever).
pub fn is_automatic<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    headers.into_iter().any(|(name, value)| {
        let value = value.trim().to_ascii_lowercase();
        match name.trim().to_ascii_lowercase().as_str() {
            // RFC 3834
            "auto-submitted" => value != "no",
            "precedence" => matches!(value.as_str(), "bulk" | "junk" | "list" | "auto_reply"),
            "x-autoreply" | "x-autorespond" => !value.is_empty() && value != "no",
            "list-id" | "list-unsubscribe" => true,
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_style_attribution_and_quote_are_cut() {
        let text = "Yes, the pallets left this morning.\r\n\r\nOn Tue, 3 Dec 2026 at 10:04, DAChat <chat@example.org> wrote:\r\n> You have 3 messages\r\n> - shipment-7\r\n";
        assert_eq!(strip(text), "Yes, the pallets left this morning.");
    }

    #[test]
    fn a_wrapped_attribution_is_cut() {
        let text = "Thanks!\n\nOn Tue, 3 Dec 2026 at 10:04, Distribute Aid chat <notifications@example.org>\nwrote:\n\n> quoted\n";
        assert_eq!(strip(text), "Thanks!");
    }

    #[test]
    fn attributions_in_other_languages_are_cut() {
        for line in [
            "Le mar. 3 déc. 2026 à 10:04, DAChat <c@example.org> a écrit :",
            "Am Di., 3. Dez. 2026 um 10:04 Uhr schrieb DAChat <c@example.org>:",
            "El mar, 3 dic 2026 a las 10:04, DAChat (<c@example.org>) escribió:",
            "Em ter., 3 de dez. de 2026 às 10:04, DAChat <c@example.org> escreveu:",
            "Il giorno mar 3 dic 2026 alle 10:04 DAChat <c@example.org> ha scritto:",
            "вт, 3 дек. 2026 г. в 10:04, DAChat <c@example.org>: написал:",
            "في الثلاثاء، ٣ ديسمبر ٢٠٢٦، كتب DAChat <c@example.org>:",
            "3 Ara 2026 Sal, 10:04 tarihinde DAChat <c@example.org> şunu yazdı:",
        ] {
            let text = format!("Merci, reçu.\n\n{line}\n> old\n");
            assert_eq!(strip(&text), "Merci, reçu.", "{line}");
        }
    }

    #[test]
    fn outlook_blocks_are_cut() {
        let text = "On our way.\n\n________________________________\nFrom: DAChat <chat@example.org>\nSent: Tuesday, December 3, 2026 10:04\nTo: Alice\nSubject: DAChat: 3 new messages\n\nYou have 3 messages";
        assert_eq!(strip(text), "On our way.");
        let text = "On our way.\n\nFrom: DAChat <chat@example.org>\nSent: Tuesday\nSubject: x\n\nold";
        assert_eq!(strip(text), "On our way.");
        let text = "Noted\n-----Original Message-----\nFrom: x\n";
        assert_eq!(strip(text), "Noted");
    }

    #[test]
    fn signatures_and_phone_footers_are_cut() {
        assert_eq!(strip("Ok\n\n-- \nAlice Example\nWarehouse lead\n"), "Ok");
        assert_eq!(strip("Ok\n--\nAlice"), "Ok");
        assert_eq!(strip("Ok, 20 boxes\n\nSent from my iPhone\n\n> old"), "Ok, 20 boxes");
        assert_eq!(strip("Ok\nEnvoyé de mon iPhone"), "Ok");
    }

    #[test]
    fn the_digest_marker_cuts_even_without_an_attribution() {
        let text = format!("Reply here\n\n> {REPLY_MARKER}\n> You have 2 messages");
        assert_eq!(strip(&text), "Reply here");
        let text = format!("Reply here\n{REPLY_MARKER}\nYou have 2 messages");
        assert_eq!(strip(&text), "Reply here");
    }

    #[test]
    fn the_reply_itself_keeps_its_lines_and_loses_inline_quotes() {
        let text = "> Did the truck arrive?\nYes, at 9.\n\n\n\n> And the papers?\nStill at customs.\n  ";
        assert_eq!(strip(text), "Yes, at 9.\n\nStill at customs.");
        // a line that mentions writing is not an attribution
        assert_eq!(
            strip("I wrote to the port: no answer"),
            "I wrote to the port: no answer"
        );
        assert_eq!(
            strip("Here is what I wrote:\nten boxes"),
            "Here is what I wrote:\nten boxes"
        );
    }

    #[test]
    fn nothing_but_quotes_is_empty_and_long_replies_are_bounded() {
        assert_eq!(strip("> only a quote\n> more\n"), "");
        assert_eq!(strip(""), "");
        for long in ["é".repeat(3000), "a".repeat(4000), "🚚".repeat(1000)] {
            let out = strip(&long);
            // as much as fits (a two-unit character may not)
            let units = protocol::message_units(&out);
            assert!(
                (protocol::MAX_MESSAGE_UNITS - 1..=protocol::MAX_MESSAGE_UNITS).contains(&units),
                "{units}"
            );
            assert!(out.ends_with('…'));
        }
        let fits = "a".repeat(protocol::MAX_MESSAGE_UNITS);
        assert_eq!(strip(&fits), fits);
        assert!(strip("bell\u{7} and\u{0} nul").chars().all(|c| !c.is_control()));
    }

    #[test]
    fn programs_replying_are_recognised() {
        assert!(is_automatic([("Auto-Submitted", "auto-replied")]));
        assert!(!is_automatic([("Auto-Submitted", "no")]));
        assert!(is_automatic([("Precedence", "bulk")]));
        assert!(is_automatic([("X-Autoreply", "yes")]));
        assert!(is_automatic([("List-Id", "<x.example>")]));
        assert!(!is_automatic([
            ("Subject", "Re: DAChat"),
            ("Precedence", "first-class")
        ]));
    }
}
