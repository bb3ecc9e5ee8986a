//! The host page's JWT, as the window keeps it fresh: when a token is about
//! to expire (its own `exp`, read without verifying: the server verifies),
//! and asking the host for a new one. The host answers through the token
//! provider it gave to `DAChat('open', {tokenProvider})` (a function
//! returning the JWT or a promise of it), or, without one, through the
//! cancelable `dachat:tokenneeded` event: a listener that calls
//! `preventDefault()` promises to answer with `DAChat('setToken', jwt)`.
//! A host that does neither leaves the user to see the error.

use std::cell::RefCell;

use wasm_bindgen::{JsCast, JsValue};

use crate::browser;

/// How long the host has to answer.
const ANSWER_WITHIN_MS: f64 = 20_000.0;

/// A token this close to its `exp` is renewed before it is used.
pub const RENEW_WITHIN_SECS: f64 = 30.0;

thread_local! {
    /// The host's token provider, if it gave one.
    static PROVIDER: RefCell<JsValue> = const { RefCell::new(JsValue::UNDEFINED) };
    /// Settles the questions waiting for the host's `setToken` (several
    /// calls may wait at once; a settled one ignores a second answer).
    static WAITING: RefCell<Vec<js_sys::Function>> = const { RefCell::new(Vec::new()) };
}

/// The provider given with `DAChat('open', {tokenProvider})` (a later
/// `open` replaces it; one without it keeps the last).
pub fn set_provider(provider: JsValue) {
    if provider.is_function() {
        PROVIDER.with(|p| *p.borrow_mut() = provider);
    }
}

/// The claims of `jwt`, as JSON text, read without verifying. (`atob`
/// gives a char per byte: the claims DAChat reads, `exp`, `sub` and
/// `contexts`, are ASCII; anything else stays valid JSON, garbled.)
fn claims(jwt: &str) -> Option<String> {
    // atob decodes base64 without padding (forgiving-base64); JWTs use the URL alphabet
    let payload: String = jwt
        .split('.')
        .nth(1)?
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    web_sys::window()?.atob(&payload).ok()
}

/// Who `jwt` says the user is and which contexts it lists (`sub`,
/// `contexts`), read without verifying: enough to pick the device's saved
/// copy of that person's chat before the service answers (the copy is
/// only ever that identity's, see [`crate::cache`]); never trusted for
/// anything else.
pub fn claimed(jwt: &str) -> Option<(String, Vec<String>)> {
    let claims = js_sys::JSON::parse(&claims(jwt)?).ok()?;
    let sub = js_sys::Reflect::get(&claims, &JsValue::from_str("sub"))
        .ok()?
        .as_string()
        .filter(|s| !s.is_empty())?;
    Some((sub, names(&claims, "contexts")))
}

/// The rooms `jwt` says the user moderates (`moderates`), read without
/// verifying: which actions the window offers; the service checks each.
pub fn moderates(jwt: &str) -> Vec<String> {
    claims(jwt)
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .map(|claims| names(&claims, "moderates"))
        .unwrap_or_default()
}

/// The strings of the list claim `key` (none if it is not a list).
fn names(claims: &JsValue, key: &str) -> Vec<String> {
    js_sys::Reflect::get(claims, &JsValue::from_str(key))
        .ok()
        .filter(js_sys::Array::is_array)
        .map(|list| {
            js_sys::Array::from(&list)
                .iter()
                .filter_map(|c| c.as_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Seconds until `jwt` expires by its `exp` claim (negative once it has);
/// `None` when that cannot be read. A hint for when to ask, never a check:
/// the service verifies every token.
pub fn expires_in_secs(jwt: &str, now_ms: f64) -> Option<f64> {
    let claims = claims(jwt)?;
    let (_, rest) = claims.split_once("\"exp\"")?;
    let digits = rest
        .trim_start_matches([' ', ':'])
        .bytes()
        .take_while(u8::is_ascii_digit);
    let (exp, n) = digits.fold((0f64, 0), |(exp, n), d| (exp * 10.0 + f64::from(d - b'0'), n + 1));
    (n > 0).then(|| exp - now_ms / 1000.0)
}

/// Why the window asks: the token `"expired"` (or is about to), or the
/// service `"refused"` it.
pub type Reason = &'static str;

/// Asks the host for a fresh JWT: a promise of it (of nothing, or of an
/// empty string, when the host gives none in time); `None` when the host
/// has no way to answer.
pub fn ask(reason: Reason) -> Option<js_sys::Promise> {
    let reason_js = JsValue::from_str(reason);
    // One promise, settled by whichever comes first: the host's answer or the timeout.
    let mut settle = None;
    let answer = js_sys::Promise::new(&mut |resolve, _reject| settle = Some(resolve));
    let settle = settle?;
    let timeout = settle.clone();
    browser::after(ANSWER_WITHIN_MS, move || {
        let _ = timeout.call1(&JsValue::NULL, &JsValue::from_str(""));
    });
    let provider = PROVIDER.with(|p| p.borrow().clone());
    // only a function is ever kept there (`set_provider`)
    match provider
        .is_function()
        .then(|| provider.unchecked_ref::<js_sys::Function>())
    {
        Some(provider) => {
            // Promise.resolve(provider(reason)).then(settle)
            let given = js_sys::Promise::resolve(&provider.call1(&JsValue::NULL, &reason_js).ok()?);
            let then: js_sys::Function = js_sys::Reflect::get(&given, &JsValue::from_str("then"))
                .ok()?
                .unchecked_into();
            then.call1(&given, &settle).ok()?;
        }
        None => {
            WAITING.with(|w| w.borrow_mut().push(settle));
            if !browser::window_question("dachat:tokenneeded", &reason_js) {
                WAITING.with(|w| w.borrow_mut().pop());
                return None;
            }
        }
    }
    Some(answer)
}

/// The host called `setToken`: answers every question waiting on it.
pub fn answered(token: &str) {
    for settle in WAITING.with(|w| std::mem::take(&mut *w.borrow_mut())) {
        let _ = settle.call1(&JsValue::NULL, &JsValue::from_str(token));
    }
}
