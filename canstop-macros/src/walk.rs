//! The one token walker every body check uses (`Self` in the body, untracked spawns), and its
//! rewriting twin ([`rewrite`]: `self` in the body of a restarted method).
//!
//! It walks a body as tokens, statements and macro arguments alike (syn does not parse the
//! latter), descending into every group, and guarantees that the visitor never sees:
//!
//! - a nested item: from `fn`, `struct`, `enum`, `union`, `trait` or `mod` followed by a
//!   name, or from `impl`, to its braces or its `;` (its own fn, with its own `Self`);
//! - the argument of `stringify!(..)`, which is text, not code.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};

/// Calls `visit(tokens, index)` at each position of `tokens` and of the groups in it, in
/// order, but for the parts the module docs list. `visit` returns the index to go on from
/// when it consumed tokens (a path), or `None` to go on with the next token.
pub(crate) fn walk(
    tokens: TokenStream,
    visit: &mut dyn FnMut(&[TokenTree], usize) -> Option<usize>,
) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut index = 0;
    while index < tokens.len() {
        if let Some(end) = nested_item_end(&tokens, index) {
            index = end;
            continue;
        }
        if is_stringify(&tokens, index) {
            index += 3;
            continue;
        }
        if let Some(end) = visit(&tokens, index) {
            index = end.max(index + 1);
            continue;
        }
        if let TokenTree::Group(group) = &tokens[index] {
            walk(group.stream(), visit);
        }
        index += 1;
    }
}

/// What [`rewrite`] calls at each position: the tokens that replace `tokens[index..end]`,
/// with `end`, or `None` to keep the token (and rewrite inside it, if it is a group).
pub(crate) type Replace<'a> = dyn FnMut(&[TokenTree], usize) -> Option<(TokenStream, usize)> + 'a;

/// A copy of `tokens` in which `replace(tokens, index)`, called at the positions [`walk`]
/// visits, has replaced `tokens[index..end]` by the tokens it returns with `end`; nested items
/// and `stringify!(..)` are copied as they are. Groups keep their spans.
pub(crate) fn rewrite(tokens: TokenStream, replace: &mut Replace<'_>) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    let mut index = 0;
    while index < tokens.len() {
        let skipped = nested_item_end(&tokens, index)
            .or_else(|| is_stringify(&tokens, index).then_some(index + 3));
        if let Some(end) = skipped {
            out.extend(tokens[index..end].iter().cloned());
            index = end;
            continue;
        }
        if let Some((replacement, end)) = replace(&tokens, index) {
            out.extend(replacement);
            index = end.max(index + 1);
            continue;
        }
        out.extend([match &tokens[index] {
            TokenTree::Group(group) => {
                let mut copy = Group::new(group.delimiter(), rewrite(group.stream(), replace));
                copy.set_span(group.span());
                TokenTree::Group(copy)
            }
            token => token.clone(),
        }]);
        index += 1;
    }
    out
}

/// The index after the nested item that starts at `index`, if one does.
fn nested_item_end(tokens: &[TokenTree], index: usize) -> Option<usize> {
    let TokenTree::Ident(keyword) = &tokens[index] else {
        return None;
    };
    let named = matches!(tokens.get(index + 1), Some(TokenTree::Ident(_)));
    let is_item = keyword == "impl"
        || (named
            && ["fn", "struct", "enum", "union", "trait", "mod"]
                .iter()
                .any(|item| keyword == item));
    if !is_item {
        return None;
    }
    let mut end = index + 1;
    while let Some(token) = tokens.get(end) {
        end += 1;
        match token {
            TokenTree::Group(group) if group.delimiter() == Delimiter::Brace => break,
            TokenTree::Punct(punct) if punct.as_char() == ';' => break,
            _ => {}
        }
    }
    Some(end)
}

/// `stringify ! (..)` at `index`.
fn is_stringify(tokens: &[TokenTree], index: usize) -> bool {
    matches!(
        (&tokens[index], tokens.get(index + 1), tokens.get(index + 2)),
        (TokenTree::Ident(name), Some(TokenTree::Punct(bang)), Some(TokenTree::Group(_)))
            if name == "stringify" && bang.as_char() == '!'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn idents(tokens: TokenStream) -> Vec<String> {
        let mut seen = Vec::new();
        walk(tokens, &mut |tokens, index| {
            if let TokenTree::Ident(ident) = &tokens[index] {
                seen.push(ident.to_string());
            }
            None
        });
        seen
    }

    #[test]
    fn rewrites_what_it_walks() {
        let out = rewrite(
            quote! { a; fn a() { a } m!(a, [a]); stringify!(a); b },
            &mut |tokens, index| match &tokens[index] {
                TokenTree::Ident(ident) if ident == "a" => Some((quote!(x y), index + 1)),
                _ => None,
            },
        );
        assert_eq!(
            out.to_string(),
            "x y ; fn a () { a } m ! (x y , [x y]) ; stringify ! (a) ; b"
        );
    }

    #[test]
    fn skips_nested_items_and_stringify() {
        let seen = idents(quote! {
            a;
            fn helper() { b }
            impl<T> X for Y<T> where T: Z { c }
            struct S(Box<Self>);
            let f: fn(u8) = d;
            let union = e;
            m! { g; mod inner { h } }
            stringify!(i);
            j
        });
        assert_eq!(
            seen,
            ["a", "let", "f", "fn", "u8", "d", "let", "union", "e", "m", "g", "j"]
        );
    }
}
