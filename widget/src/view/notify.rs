//! "E-mail me about messages I miss" (issue #14): a panel under the bar,
//! for the room on screen and for all rooms, each off, waiting for a code,
//! or on (to which address). An address the host vouches for needs no
//! code; any other gets a 6-digit code by e-mail, typed here. Every
//! refusal (a wrong code, too many codes, a bad address) is the server's
//! own sentence, shown in the panel.
//!
//! The notifications piece ([`crate::pieces`]): [`attach`] builds the
//! panel beside the core's toggle (`notify_toggle.rs`) when it is first
//! opened, or when the piece arrives in the background.
//!
//! Built by hand (like message bodies, [`super::markdown_dom`]), with its
//! state in one `RefCell` rather than signals: in `view!` with signals the
//! same panel cost 9 KB of the download (each element shape and signal
//! type is generic code of its own). The elements are made once; after
//! that only their texts and `hidden` change, so focus and typed text stay
//! where they are.

use std::cell::RefCell;
use std::rc::Rc;

use protocol::js as json;
use protocol::{
    ConfirmRequest, NotificationsResponse, NotifyState, SubscribeRequest, SubscriptionState, UnsubscribeRequest,
};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use crate::chat::UseChatReturn;
use crate::i18n::{Msg, t, tf};

/// The notification panel, once attached: told of the room on screen and
/// of clicks on its toggle. (Types only: the core holds one without
/// holding the panel's code.)
pub type NotifyPanel = Rc<dyn Fn(NotifyCall)>;

/// What the core tells the notification panel.
#[derive(Debug, Clone)]
pub enum NotifyCall {
    /// The room on screen changed.
    Room(Option<String>),
    /// The toggle was clicked.
    Toggle,
}

/// Where e-mail goes for `context` (`None`: the all-rooms switch), if on.
pub fn address_for(answer: &NotificationsResponse, context: Option<&str>) -> Option<String> {
    let of = |c: Option<&str>| answer.subscriptions.iter().find(|s| s.context.as_deref() == c);
    match (context, of(context)) {
        (_, Some(own)) => own.address.clone(),
        // a room without its own switch follows the all-rooms one
        (Some(_), None) => of(None).and_then(|all| all.address.clone()),
        (None, None) => None,
    }
}

/// What a switch shows: its text, and whether it is on.
pub fn describe(
    answer: Option<&NotificationsResponse>,
    waiting: Option<&(Option<String>, String)>,
    scope: Option<&str>,
) -> (String, bool) {
    let on = answer.and_then(|a| address_for(a, scope));
    let pending = waiting.filter(|(s, _)| s.as_deref() == scope).map(|(_, to)| to);
    let label = match scope {
        Some(room) => tf(Msg::NotifyThisRoom, &[("room", room)]),
        None => t(Msg::NotifyAllRooms),
    };
    let (what, on) = match (on, pending) {
        (Some(to), _) => (tf(Msg::NotifyOnTo, &[("address", &to)]), true),
        (None, Some(to)) => (tf(Msg::NotifyWaiting, &[("address", to)]), false),
        (None, None) => (t(Msg::NotifyOff), false),
    };
    (format!("{label} {what}"), on)
}

/// The panel's styles (`notify.css`, minified by `build.rs`).
const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/notify.css"));

/// An event listener kept alive with the panel.
type Listener = Closure<dyn FnMut(web_sys::Event)>;

/// A request body made from the host token.
type Body = Box<dyn Fn(&str) -> String>;

/// What the panel asks of the server.
#[derive(Clone)]
enum Act {
    Load,
    On(Option<String>),
    Off(Option<String>),
    Confirm,
}

#[derive(Default)]
struct State {
    open: bool,
    room: Option<String>,
    answer: Option<NotificationsResponse>,
    /// The scope and address a code was sent for.
    waiting: Option<(Option<String>, String)>,
    note: String,
}

/// The panel's elements, made once.
struct Dom {
    toggle: web_sys::HtmlElement,
    region: web_sys::HtmlElement,
    rows: [(web_sys::HtmlElement, web_sys::HtmlElement, web_sys::HtmlElement); 2],
    address: web_sys::HtmlInputElement,
    form: web_sys::HtmlElement,
    code: web_sys::HtmlInputElement,
    status: web_sys::HtmlElement,
}

struct Inner {
    chat: UseChatReturn,
    state: RefCell<State>,
    dom: RefCell<Option<Dom>>,
    /// The listeners, dropped with the panel.
    listeners: RefCell<Vec<Listener>>,
}

#[derive(Clone)]
struct Switches(Rc<Inner>);

fn element(
    document: &web_sys::Document,
    parent: &web_sys::Node,
    tag: &str,
    text: &str,
) -> Result<web_sys::HtmlElement, JsValue> {
    let el: web_sys::HtmlElement = document.create_element(tag)?.unchecked_into();
    if !text.is_empty() {
        el.set_text_content(Some(text));
    }
    parent.append_child(&el)?;
    Ok(el)
}

impl Switches {
    fn listen(&self, target: &web_sys::EventTarget, event: &str, act: impl Fn(&Switches, web_sys::Event) + 'static) {
        let me = self.clone();
        let closure: Listener = Closure::new(move |e| act(&me, e));
        if target
            .add_event_listener_with_callback(event, closure.as_ref().unchecked_ref())
            .is_ok()
        {
            self.0.listeners.borrow_mut().push(closure);
        }
    }

    /// The scope of switch `index` (0: the room on screen, 1: all rooms).
    fn scope(&self, index: usize) -> Option<String> {
        (index == 0).then(|| self.0.state.borrow().room.clone()).flatten()
    }

    /// Makes the panel's elements in `root`.
    fn build(&self, root: &web_sys::Element, toggle: web_sys::HtmlElement) -> Result<Dom, JsValue> {
        let document = root.owner_document().ok_or(JsValue::NULL)?;
        let region = element(&document, root, "div", "")?;
        region.set_class_name("notify-panel");
        region.set_attribute("role", "region")?;
        region.set_attribute("aria-label", &t(Msg::NotifyLabel))?;
        let row = |index: usize| -> Result<_, JsValue> {
            let div = element(&document, &region, "div", "")?;
            div.set_class_name("row");
            let text = element(&document, &div, "span", "")?;
            let button = element(&document, &div, "button", "")?;
            button.set_attribute("type", "button")?;
            self.listen(&button, "click", move |me, _| {
                let scope = me.scope(index);
                let on = {
                    let state = me.0.state.borrow();
                    describe(state.answer.as_ref(), state.waiting.as_ref(), scope.as_deref()).1
                };
                me.act(if on { Act::Off(scope) } else { Act::On(scope) });
            });
            Ok((div, text, button))
        };
        let rows = [row(0)?, row(1)?];
        let label = element(&document, &region, "label", &format!("{} ", t(Msg::NotifyAddress)))?;
        let address: web_sys::HtmlInputElement = element(&document, &label, "input", "")?.unchecked_into();
        address.set_type("email");
        address.set_autocomplete("email");
        let form = element(&document, &region, "form", "")?;
        let label = element(&document, &form, "label", &format!("{} ", t(Msg::NotifyCode)))?;
        let code: web_sys::HtmlInputElement = element(&document, &label, "input", "")?.unchecked_into();
        code.set_attribute("inputmode", "numeric")?;
        code.set_autocomplete("one-time-code");
        code.set_max_length(6);
        element(&document, &form, "button", &t(Msg::NotifyConfirm))?.set_attribute("type", "submit")?;
        self.listen(&form, "submit", |me, event| {
            event.prevent_default();
            me.act(Act::Confirm);
        });
        // a div: the loader styles its own p[role] as a toast
        let status = element(&document, &region, "div", "")?;
        status.set_attribute("role", "status")?;
        Ok(Dom {
            toggle,
            region,
            rows,
            address,
            form,
            code,
            status,
        })
    }

    /// Brings the elements in line with the state.
    fn show(&self) {
        let dom = self.0.dom.borrow();
        let Some(dom) = dom.as_ref() else { return };
        let state = self.0.state.borrow();
        let _ = dom
            .toggle
            .set_attribute("aria-expanded", if state.open { "true" } else { "false" });
        dom.region.set_hidden(!state.open);
        for (index, (row, text, button)) in dom.rows.iter().enumerate() {
            let scope = if index == 0 { state.room.as_deref() } else { None };
            let (label, on) = describe(state.answer.as_ref(), state.waiting.as_ref(), scope);
            text.set_text_content(Some(&label));
            button.set_text_content(Some(&t(if on { Msg::NotifyTurnOff } else { Msg::NotifyTurnOn })));
            row.set_hidden(index == 0 && scope.is_none());
        }
        // hiding the focused code form would drop the focus to the page
        let form_hides = state.waiting.is_none() && !dom.form.hidden();
        let focus_inside = dom
            .form
            .get_root_node()
            .dyn_into::<web_sys::ShadowRoot>()
            .ok()
            .and_then(|root| root.active_element())
            .is_some_and(|active| dom.form.contains(Some(&active)));
        dom.form.set_hidden(state.waiting.is_none());
        if form_hides && focus_inside {
            let _ = dom.toggle.focus();
        }
        dom.status.set_text_content(Some(&state.note));
    }

    fn typed(&self, read: fn(&Dom) -> &web_sys::HtmlInputElement) -> String {
        self.0
            .dom
            .borrow()
            .as_ref()
            .map(|d| read(d).value().trim().to_owned())
            .unwrap_or_default()
    }

    fn act(&self, act: Act) {
        let me = self.clone();
        leptos::task::spawn_local(async move { me.run(act).await });
    }

    async fn run(&self, act: Act) {
        let (path, body): (&str, Option<Body>) = match act.clone() {
            Act::Load => ("/v1/notifications", None),
            Act::On(context) => {
                let typed = self.typed(|d| &d.address);
                (
                    "/v1/notifications/subscribe",
                    Some(Box::new(move |token: &str| {
                        json::stringify(&SubscribeRequest {
                            token: token.to_owned(),
                            context: context.clone(),
                            address: (!typed.is_empty()).then(|| typed.clone()),
                        })
                        .unwrap_or_default()
                    })),
                )
            }
            Act::Off(context) => (
                "/v1/notifications/off",
                Some(Box::new(move |token: &str| {
                    json::stringify(&UnsubscribeRequest {
                        token: token.to_owned(),
                        context: context.clone(),
                    })
                    .unwrap_or_default()
                })),
            ),
            Act::Confirm => {
                let Some((context, to)) = self.0.state.borrow().waiting.clone() else {
                    return;
                };
                let typed = self.typed(|d| &d.code);
                (
                    "/v1/notifications/confirm",
                    Some(Box::new(move |token: &str| {
                        json::stringify(&ConfirmRequest {
                            token: token.to_owned(),
                            context: context.clone(),
                            address: to.clone(),
                            code: typed.clone(),
                        })
                        .unwrap_or_default()
                    })),
                )
            }
        };
        let answer = self.0.chat.with_host_token(path, body.as_deref()).await;
        let mut reload = false;
        {
            let mut state = self.0.state.borrow_mut();
            match (answer, act) {
                (Err(e), _) => state.note = e.message,
                (Ok(text), Act::Load) => {
                    if let Some(got) = json::parse::<NotificationsResponse>(&text) {
                        let known = got
                            .vouched_address
                            .clone()
                            .or_else(|| got.subscriptions.iter().find_map(|s| s.address.clone()));
                        if let (Some(dom), Some(known)) = (self.0.dom.borrow().as_ref(), known)
                            && dom.address.value().is_empty()
                        {
                            dom.address.set_value(&known);
                        }
                        state.answer = Some(got);
                    }
                }
                (Ok(text), act) => {
                    let scope = match act {
                        Act::On(s) | Act::Off(s) => s,
                        _ => state.waiting.clone().and_then(|(s, _)| s),
                    };
                    match json::parse::<SubscriptionState>(&text) {
                        Some(SubscriptionState {
                            state: NotifyState::CodeSent,
                            address: Some(to),
                        }) => {
                            state.note = tf(Msg::NotifyCodeSent, &[("address", &to)]);
                            state.waiting = Some((scope, to));
                        }
                        Some(answer) => {
                            state.waiting = None;
                            state.note = match (answer.state, answer.address) {
                                (NotifyState::On, Some(to)) => tf(Msg::NotifyNowOn, &[("address", &to)]),
                                _ => t(Msg::NotifyNowOff),
                            };
                            reload = true;
                        }
                        None => state.note = t(Msg::ErrorStrange),
                    }
                }
            }
        }
        self.show();
        if reload {
            self.act(Act::Load);
        }
    }
}

/// Builds the panel in `root`, after the core's `toggle`; returns what the
/// core calls on a click of the toggle and when the room on screen
/// changes.
pub fn attach(chat: UseChatReturn, root: web_sys::Element, toggle: web_sys::HtmlElement) -> NotifyPanel {
    crate::i18n::speak(crate::i18n::EN_NOTIFY);
    crate::browser::add_style(&root, "notify", STYLE);
    let switches = Switches(Rc::new(Inner {
        chat,
        state: RefCell::new(State::default()),
        dom: RefCell::new(None),
        listeners: RefCell::new(Vec::new()),
    }));
    if let Ok(dom) = switches.build(&root, toggle) {
        *switches.0.dom.borrow_mut() = Some(dom);
    }
    Rc::new(move |call| match call {
        NotifyCall::Room(room) => {
            switches.0.state.borrow_mut().room = room;
            switches.show();
        }
        NotifyCall::Toggle => {
            let open = {
                let mut state = switches.0.state.borrow_mut();
                state.open = !state.open;
                state.note.clear();
                state.open
            };
            switches.show();
            if open {
                switches.act(Act::Load);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use protocol::NotificationSubscription;

    use super::*;

    fn answer(subscriptions: &[(Option<&str>, Option<&str>)]) -> NotificationsResponse {
        NotificationsResponse {
            vouched_address: None,
            subscriptions: subscriptions
                .iter()
                .map(|(c, a)| NotificationSubscription {
                    context: c.map(str::to_owned),
                    address: a.map(str::to_owned),
                })
                .collect(),
        }
    }

    #[test]
    fn a_room_follows_its_own_switch_else_the_all_rooms_one() {
        let none = answer(&[]);
        assert_eq!(address_for(&none, Some("general")), None);
        assert_eq!(address_for(&none, None), None);
        let all = answer(&[(None, Some("a@example.org")), (Some("quiet"), None)]);
        assert_eq!(address_for(&all, Some("general")).as_deref(), Some("a@example.org"));
        assert_eq!(address_for(&all, Some("quiet")), None, "left out of all rooms");
        assert_eq!(address_for(&all, None).as_deref(), Some("a@example.org"));
        let one = answer(&[(Some("general"), Some("b@example.org"))]);
        assert_eq!(address_for(&one, Some("general")).as_deref(), Some("b@example.org"));
        assert_eq!(address_for(&one, None), None);
    }

    #[test]
    fn each_switch_says_off_waiting_or_on() {
        // the panel's words come with its piece
        crate::i18n::speak(crate::i18n::EN_NOTIFY);
        let all = answer(&[(None, Some("a@example.org"))]);
        assert_eq!(
            describe(Some(&all), None, None),
            ("All my rooms: On, to a@example.org".to_owned(), true)
        );
        assert_eq!(
            describe(Some(&all), None, Some("general")),
            ("This room (general): On, to a@example.org".to_owned(), true)
        );
        let waiting = (Some("general".to_owned()), "b@example.org".to_owned());
        assert_eq!(
            describe(None, Some(&waiting), Some("general")),
            (
                "This room (general): Waiting for the code sent to b@example.org".to_owned(),
                false
            )
        );
        assert_eq!(
            describe(None, Some(&waiting), None),
            ("All my rooms: Off".to_owned(), false),
            "the code is for the room"
        );
    }
}
