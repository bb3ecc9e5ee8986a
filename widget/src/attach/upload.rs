//! A file on its way to the provider. The local provider's: one upload to
//! its file endpoint (`POST /v1/local/files?room=R&name=N`, the chat token
//! as bearer) with `XMLHttpRequest`, since `fetch` reports no upload
//! progress and a weak link needs a progress bar and a way to stop; the
//! message follows through the outbox. Twilio's: the file goes with its
//! message through the SDK's media API ([`send_media`]), cancellable, with
//! no progress to report.

use std::cell::RefCell;
use std::rc::Rc;

use protocol::ErrorBody;
use protocol::js as json;
use protocol::local::Attachment;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;

use super::js::{call, get, new, number, set, text};
use super::photo::Prepared;

/// Why an upload did not end with a stored file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The user cancelled it.
    Cancelled,
    /// No answer: offline, or the connection dropped.
    Network,
    /// The server refused it (its error code and words).
    Refused { code: String, message: String },
}

impl Failure {
    /// A refusal the window itself made, in words.
    pub fn said(message: String) -> Self {
        Self::Refused {
            code: String::new(),
            message,
        }
    }
}

/// Stops an upload in progress: the request (`abort`), or the SDK's
/// sending (`cancel`), while there is one.
#[derive(Clone, Default)]
pub struct Cancel(Rc<RefCell<Option<(JsValue, &'static str)>>>);

impl Cancel {
    pub fn cancel(&self) {
        if let Some((target, method)) = self.0.borrow_mut().take() {
            let _ = call(&target, method, &[]);
        }
    }

    /// Whether the user cancelled what was given to it (it is taken back
    /// here when it ends on its own).
    fn cancelled(&self) -> bool {
        self.0.borrow_mut().take().is_none()
    }
}

/// Sends `file` to `room` with its message through a provider that takes
/// files with the message (Twilio's media service, through the SDK): no
/// progress is reported there; `cancel` stops it.
pub async fn send_media(
    client: &dyn crate::client::ChatClient,
    room: &str,
    client_id: &str,
    body: &str,
    file: &Prepared,
    cancel: &Cancel,
) -> Option<Result<(), Failure>> {
    let sending = client.send_media(room, client_id, body, &file.blob, &file.content_type, &file.name)?;
    *cancel.0.borrow_mut() = Some((sending.clone().into(), "cancel"));
    let answer = JsFuture::from(sending).await;
    Some(match (cancel.cancelled(), answer) {
        (true, _) => Err(Failure::Cancelled),
        (false, Ok(_)) => Ok(()),
        (false, Err(e)) => Err(Failure::said(text(&e, "message"))),
    })
}

/// Sends `file` to `room` through `endpoint` with `token`, telling
/// `progress` the bytes sent so far and in all; `cancel` stops it.
pub async fn upload(
    (endpoint, token): (String, String),
    room: &str,
    file: &Prepared,
    progress: impl Fn(f64, f64) + 'static,
    cancel: &Cancel,
) -> Result<Attachment, Failure> {
    let request = new("XMLHttpRequest", &[]).map_err(|_| Failure::Network)?;
    let url = format!(
        "{endpoint}?room={}&name={}",
        js_sys::encode_uri_component(room),
        js_sys::encode_uri_component(&file.name)
    );
    let header = |name: &str, value: &str| call(&request, "setRequestHeader", &[&name.into(), &value.into()]);
    call(&request, "open", &[&"POST".into(), &url.into()]).map_err(|_| Failure::Network)?;
    let _ = header("Authorization", &format!("Bearer {token}"));
    let _ = header("Content-Type", &file.content_type);
    let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        progress(number(&e, "loaded"), number(&e, "total"));
    });
    set(&get(&request, "upload"), "onprogress", on_progress.as_ref());
    let ended = js_sys::Promise::new(&mut |resolve, _| set(&request, "onloadend", &resolve));
    *cancel.0.borrow_mut() = Some((request.clone(), "abort"));
    call(&request, "send", &[&file.blob]).map_err(|_| Failure::Network)?;
    let _ = JsFuture::from(ended).await;
    let cancelled = cancel.cancelled();
    drop(on_progress);
    let answer = text(&request, "responseText");
    match number(&request, "status") as u16 {
        _ if cancelled => Err(Failure::Cancelled),
        0 => Err(Failure::Network),
        201 => json::parse::<Attachment>(&answer).ok_or(Failure::said(String::new())),
        _ => {
            let body = json::parse::<ErrorBody>(&answer);
            Err(Failure::Refused {
                code: body.as_ref().map(|b| b.error.clone()).unwrap_or_default(),
                message: body.map(|b| b.message).unwrap_or_default(),
            })
        }
    }
}
