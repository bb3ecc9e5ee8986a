//! A message body as DOM nodes: the markdown tree of [`crate::markdown`]
//! built into the body's `<div>` with `createElement` and text nodes,
//! never through markup. Part of the markdown piece ([`crate::pieces`]):
//! only [`render`] is called, and only through the piece's loader.

use wasm_bindgen::JsValue;

use crate::markdown::{self, Block, Inline};

/// The styles of bodies drawn as markdown (`markdown.css`, minified by
/// `build.rs`), added with the piece.
pub const STYLE: &str = include_str!(concat!(env!("OUT_DIR"), "/markdown.css"));

/// Draws `text` (the markdown subset) into a message body's element, as
/// DOM nodes: every piece of user text is a text node; links go only to
/// http, https and mailto (the parser drops others). Built by hand rather
/// than with `view!`: each element shape there is its own set of generic
/// view types, 3.5 KB of the download for these eight tags. The markdown
/// piece's entry ([`crate::pieces`]).
pub fn render(text: &str, el: &web_sys::Element) {
    let Some(document) = el.owner_document() else {
        return;
    };
    // a rebuild draws again: start empty
    el.set_text_content(None);
    for block in markdown::parse(text) {
        // creating and appending plain elements to a live element does not fail
        let _ = append_block(&document, el, block);
    }
}

fn append_block(document: &web_sys::Document, parent: &web_sys::Node, block: Block) -> Result<(), JsValue> {
    match block {
        Block::Paragraph(inlines) => {
            let p = append_element(document, parent, "p")?;
            for inline in inlines {
                append_inline(document, &p, inline)?;
            }
        }
        Block::CodeBlock(code) => {
            let pre = append_element(document, parent, "pre")?;
            append_element(document, &pre, "code")?.set_text_content(Some(&code));
        }
        Block::List { ordered, items } => {
            let list = append_element(document, parent, if ordered { "ol" } else { "ul" })?;
            for blocks in items {
                let item = append_element(document, &list, "li")?;
                for block in blocks {
                    append_block(document, &item, block)?;
                }
            }
        }
    }
    Ok(())
}

fn append_inline(document: &web_sys::Document, parent: &web_sys::Node, inline: Inline) -> Result<(), JsValue> {
    let (tag, children) = match inline {
        Inline::Text(text) => {
            parent.append_child(&document.create_text_node(&text))?;
            return Ok(());
        }
        Inline::Code(code) => {
            append_element(document, parent, "code")?.set_text_content(Some(&code));
            return Ok(());
        }
        Inline::Break => {
            append_element(document, parent, "br")?;
            return Ok(());
        }
        Inline::Strong(children) => (append_element(document, parent, "strong")?, children),
        Inline::Emphasis(children) => (append_element(document, parent, "em")?, children),
        Inline::Link { href, children } => {
            let a = append_element(document, parent, "a")?;
            a.set_attribute("href", &href)?;
            a.set_attribute("target", "_blank")?;
            a.set_attribute("rel", "noopener noreferrer nofollow")?;
            (a, children)
        }
    };
    for child in children {
        append_inline(document, &tag, child)?;
    }
    Ok(())
}

fn append_element(
    document: &web_sys::Document,
    parent: &web_sys::Node,
    tag: &str,
) -> Result<web_sys::Element, JsValue> {
    let element = document.create_element(tag)?;
    parent.append_child(&element)?;
    Ok(element)
}
