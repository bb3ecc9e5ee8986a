//! Voice messages: the microphone button records with the browser's
//! `MediaRecorder` at a rate suited to speech (Opus at 24 kbit/s where the
//! browser offers it: a minute costs a weak link ~180 KB), with a timer,
//! Stop and Cancel. The permission is asked only when the button is used;
//! a refusal says how to allow it. A stopped recording joins the tray,
//! where it can be heard back, with its length and size, before it is
//! sent like any file (same rules, same upload).

use std::cell::RefCell;

use leptos::prelude::WithUntracked;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::element;
use super::js::{self, call, get, new, number, set};
use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t, tf};

/// What the browsers record, by preference, and the type it is sent as.
const FORMATS: [(&str, &str); 3] = [
    ("audio/webm;codecs=opus", "audio/webm"),
    ("audio/ogg;codecs=opus", "audio/ogg"),
    ("audio/mp4", "audio/mp4"),
];

/// Speech, not music.
const BITS_PER_SECOND: u32 = 24_000;

/// A recording stops by itself after this long (s).
const LONGEST_S: u32 = 15 * 60;

struct Recording {
    recorder: JsValue,
    stream: JsValue,
    panel: web_sys::HtmlElement,
    timer: JsValue,
    cancelled: bool,
    _listeners: Vec<Closure<dyn FnMut(JsValue)>>,
}

thread_local! {
    static RECORDING: RefCell<Option<Recording>> = const { RefCell::new(None) };
}

/// `0:07`, `12:30`.
pub fn clock(seconds: u32) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The format to record in: the first the browser records and the
/// operator allows.
fn format(allowed: &[String]) -> Option<(&'static str, &'static str)> {
    let recorder = get(&js_sys::global(), "MediaRecorder");
    FORMATS.into_iter().find(|(recorded, sent)| {
        allowed.iter().any(|a| a == sent)
            && call(&recorder, "isTypeSupported", &[&JsValue::from_str(recorded)]).is_ok_and(|ok| ok.is_truthy())
    })
}

/// The microphone button was pressed on the composer `form`.
pub fn record(chat: UseChatReturn, form: &web_sys::Element) {
    if RECORDING.with(|r| r.borrow().is_some()) {
        return;
    }
    let form = form.clone();
    leptos::task::spawn_local(async move {
        let allowed = chat
            .state
            .with_untracked(|s| s.as_ref().and_then(|s| s.attachments.as_ref().map(|a| a.types.clone())))
            .unwrap_or_default();
        let Some((recorded, sent)) = format(&allowed) else {
            chat.notice(t(Msg::AttachVoiceUnsupported));
            return;
        };
        let devices = get(&js_sys::global(), "navigator");
        let constraints = js_sys::Object::new();
        set(&constraints, "audio", &JsValue::TRUE);
        let Ok(stream) = js::wait(&get(&devices, "mediaDevices"), "getUserMedia", &[&constraints]).await else {
            chat.notice(t(Msg::AttachMicBlocked));
            return;
        };
        let options = js_sys::Object::new();
        set(&options, "mimeType", &recorded.into());
        set(&options, "audioBitsPerSecond", &BITS_PER_SECOND.into());
        let Ok(recorder) = new("MediaRecorder", &[&stream, &options]) else {
            stop_tracks(&stream);
            chat.notice(t(Msg::AttachVoiceUnsupported));
            return;
        };
        let _ = start(chat, &form, recorder, stream, sent);
    });
}

fn stop_tracks(stream: &JsValue) {
    if let Ok(tracks) = call(stream, "getTracks", &[]) {
        for track in js_sys::Array::from(&tracks).iter() {
            let _ = call(&track, "stop", &[]);
        }
    }
}

/// Starts `recorder` and shows its panel above the composer.
fn start(
    chat: UseChatReturn,
    form: &web_sys::Element,
    recorder: JsValue,
    stream: JsValue,
    sent: &'static str,
) -> Option<()> {
    let panel: web_sys::HtmlElement = form.owner_document()?.create_element("div").ok()?.dyn_into().ok()?;
    panel.set_class_name("recorder");
    form.parent_node()?.insert_before(&panel, Some(form)).ok()?;
    super::style(form);
    let status = element(&panel, "span", "", &tf(Msg::AttachRecording, &[("time", &clock(0))]))?;
    // a timer: read when asked, not announced every second
    status.set_attribute("role", "timer").ok()?;
    let stop = element(&panel, "button", "", &t(Msg::AttachStop))?;
    let cancel = element(&panel, "button", "", &t(Msg::LogCancel))?;
    for button in [&stop, &cancel] {
        button.set_attribute("type", "button").ok()?;
    }
    let chunks = js_sys::Array::new();
    let started = js_sys::Date::now();
    let kept = chunks.clone();
    let on_data = Closure::<dyn FnMut(JsValue)>::new(move |e: JsValue| {
        kept.push(&get(&e, "data"));
    });
    let form_el = form.clone();
    let on_stop = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        let Some(done) = RECORDING.with(|r| r.borrow_mut().take()) else {
            return;
        };
        stop_tracks(&done.stream);
        let _ = call(&js_sys::global(), "clearInterval", &[&done.timer]);
        let _ = call(&done.panel, "remove", &[]);
        if done.cancelled {
            return;
        }
        let seconds = ((js_sys::Date::now() - started) / 1000.0).round() as u32;
        let name = format!("voice {}.{}", clock(seconds), sent.rsplit('/').next().unwrap_or("webm"));
        let options = js_sys::Object::new();
        set(&options, "type", &sent.into());
        if let Ok(file) = new("File", &[&chunks, &name.clone().into(), &options])
            && number(&file, "size") > 0.0
        {
            super::tray::add(chat, &form_el, file, name, sent.to_owned());
        }
    });
    let on_tick = Closure::<dyn FnMut(JsValue)>::new(move |_| {
        let seconds = ((js_sys::Date::now() - started) / 1000.0) as u32;
        status.set_text_content(Some(&tf(Msg::AttachRecording, &[("time", &clock(seconds))])));
        if seconds >= LONGEST_S {
            finish(false);
        }
    });
    let on_stop_click = Closure::<dyn FnMut(JsValue)>::new(|_| finish(false));
    let on_cancel_click = Closure::<dyn FnMut(JsValue)>::new(|_| finish(true));
    set(&recorder, "ondataavailable", on_data.as_ref());
    set(&recorder, "onstop", on_stop.as_ref());
    set(&stop, "onclick", on_stop_click.as_ref());
    set(&cancel, "onclick", on_cancel_click.as_ref());
    let timer = call(&js_sys::global(), "setInterval", &[on_tick.as_ref(), &1000.into()]).ok()?;
    call(&recorder, "start", &[&1000.into()]).ok()?;
    let _ = stop.focus();
    RECORDING.with(|r| {
        *r.borrow_mut() = Some(Recording {
            recorder,
            stream,
            panel,
            timer,
            cancelled: false,
            _listeners: vec![on_data, on_stop, on_tick, on_stop_click, on_cancel_click],
        })
    });
    Some(())
}

/// Stops the recording (thrown away when `cancel`); its `stop` event
/// does the rest.
fn finish(cancel: bool) {
    let recorder = RECORDING.with(|r| {
        r.borrow_mut().as_mut().map(|rec| {
            rec.cancelled = cancel;
            rec.recorder.clone()
        })
    });
    if let Some(recorder) = recorder {
        let _ = call(&recorder, "stop", &[]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recordings_length_reads_as_minutes_and_seconds() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(7), "0:07");
        assert_eq!(clock(750), "12:30");
    }
}
