//! The message catalogs' format, shared (through `#[path]`) by `build.rs`
//! (the English table compiled into the widget), `cargo xtask widget`
//! (the other locales compiled into the files the window fetches) and the
//! test that every catalog is complete (`tests/catalogs.rs`).
//!
//! A source, `widget/locales/<lang>.txt`, is UTF-8 lines: `# comment`,
//! blank, or `key = text`. A message that counts something has one line per
//! CLDR plural category of the locale: `key.one = …`, `key.other = …` (see
//! [`categories`]). `{name}` in a text is a placeholder, filled in by the
//! window; every translation of a message has the same placeholders.
//!
//! The compiled form, what the window reads, is one line per message in
//! the order of `en.txt`; a plural message's line is
//! `category US text US category US text…` (US is U+001F, unit separator).
//! Keys are not shipped: the window knows a message by its line.

use std::collections::BTreeSet;

/// The separator inside a compiled plural line.
pub const SEP: char = '\u{1f}';

/// The CLDR plural categories, in CLDR's order.
pub const PLURAL_CATEGORIES: [&str; 6] = ["zero", "one", "two", "few", "many", "other"];

/// One message: its key and its forms (`("", text)` for a plain message,
/// `(category, text)` for each form of a plural one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub forms: Vec<(String, String)>,
}

impl Entry {
    pub fn is_plural(&self) -> bool {
        self.forms.iter().any(|(category, _)| !category.is_empty())
    }

    /// The compiled line (see the module's documentation).
    pub fn compiled(&self) -> String {
        if !self.is_plural() {
            return self.forms[0].1.clone();
        }
        let parts: Vec<&str> = self
            .forms
            .iter()
            .flat_map(|(category, text)| [category.as_str(), text.as_str()])
            .collect();
        parts.join(&SEP.to_string())
    }
}

/// The plural categories CLDR gives the cardinal numbers of `lang` (the
/// locales DAChat ships; others follow English).
pub fn categories(lang: &str) -> &'static [&'static str] {
    match lang {
        "fr" | "es" => &["one", "many", "other"],
        "uk" => &["one", "few", "many", "other"],
        "ar" => &["zero", "one", "two", "few", "many", "other"],
        _ => &["one", "other"],
    }
}

/// Reads a catalog source; messages in the order of their first line.
pub fn parse(text: &str) -> Result<Vec<Entry>, String> {
    let mut entries: Vec<Entry> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("line {}", n + 1);
        let (key, value) = line
            .split_once(" = ")
            .ok_or_else(|| format!("{}: expected `key = text`", at()))?;
        let value = value.trim();
        if value.is_empty() || value.contains(SEP) {
            return Err(format!("{}: `{key}` has an empty text or a control character", at()));
        }
        let (key, category) = match key.rsplit_once('.') {
            Some((stem, last)) if PLURAL_CATEGORIES.contains(&last) => (stem, last),
            _ => (key, ""),
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '.') {
            return Err(format!("{}: a key is lowercase letters, `_` and `.`", at()));
        }
        match entries.iter_mut().find(|e| e.key == key) {
            Some(entry) if !category.is_empty() && entry.is_plural() => {
                if entry.forms.iter().any(|(c, _)| c == category) {
                    return Err(format!("{}: `{key}.{category}` twice", at()));
                }
                entry.forms.push((category.to_owned(), value.to_owned()));
            }
            Some(_) => return Err(format!("{}: `{key}` twice", at())),
            None => entries.push(Entry {
                key: key.to_owned(),
                forms: vec![(category.to_owned(), value.to_owned())],
            }),
        }
    }
    for entry in &mut entries {
        entry
            .forms
            .sort_by_key(|(category, _)| PLURAL_CATEGORIES.iter().position(|c| c == category));
    }
    Ok(entries)
}

/// The names of the `{placeholders}` in `text`.
pub fn placeholders(text: &str) -> BTreeSet<&str> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        match rest[open..].find('}') {
            Some(close) => {
                found.insert(&rest[open + 1..open + close]);
                rest = &rest[open + close + 1..];
            }
            None => break,
        }
    }
    found
}

/// What is wrong with the catalog of `lang` measured against English: a
/// message missing, unknown, in the wrong plural categories, or with other
/// placeholders. Empty when it is complete.
pub fn problems(lang: &str, english: &[Entry], catalog: &[Entry]) -> Vec<String> {
    let mut problems = Vec::new();
    let wanted: Vec<&str> = categories(lang).to_vec();
    for en in english {
        let Some(entry) = catalog.iter().find(|e| e.key == en.key) else {
            problems.push(format!("{lang}: `{}` is missing", en.key));
            continue;
        };
        let en_places: BTreeSet<&str> = en.forms.iter().flat_map(|(_, t)| placeholders(t)).collect();
        if en.is_plural() {
            let got: Vec<&str> = entry.forms.iter().map(|(c, _)| c.as_str()).collect();
            if got != wanted {
                problems.push(format!(
                    "{lang}: `{}` has the plural forms {got:?}; {lang} needs {wanted:?}",
                    en.key
                ));
            }
        } else if entry.is_plural() {
            problems.push(format!("{lang}: `{}` is not a plural message", en.key));
        }
        for (category, text) in &entry.forms {
            let got = placeholders(text);
            // a plural form may leave out the count (Arabic's "one" says "one" in words)
            let lacking: Vec<&&str> = en_places
                .iter()
                .filter(|p| !(got.contains(**p) || (en.is_plural() && **p == "n")))
                .collect();
            let unknown: Vec<&&str> = got.iter().filter(|p| !en_places.contains(**p)).collect();
            if !lacking.is_empty() || !unknown.is_empty() {
                problems.push(format!(
                    "{lang}: `{}{}{category}` lacks {lacking:?} or has unknown {unknown:?} placeholders",
                    en.key,
                    if category.is_empty() { "" } else { "." }
                ));
            }
        }
    }
    for entry in catalog {
        if !english.iter().any(|en| en.key == entry.key) {
            problems.push(format!("{lang}: `{}` is not an English message", entry.key));
        }
    }
    problems
}

/// The compiled catalog (one line per English message); fails on any
/// [`problems`].
pub fn compile(lang: &str, english: &[Entry], catalog: &[Entry]) -> Result<String, String> {
    let found = problems(lang, english, catalog);
    if !found.is_empty() {
        return Err(found.join("\n"));
    }
    let lines: Vec<String> = english
        .iter()
        .filter_map(|en| catalog.iter().find(|e| e.key == en.key))
        .map(Entry::compiled)
        .collect();
    Ok(lines.join("\n"))
}
