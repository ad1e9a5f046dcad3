//! Step 2b: the body check. Inside `main`, `#[service]` and `#[session]` bodies, naming an
//! untracked spawn is an error that names the tracked alternative and the escape hatch:
//! `tokio::spawn`, `tokio::task::spawn`, `tokio::task::spawn_blocking`,
//! `tokio::task::spawn_local`, `std::thread::spawn` (with or without a leading `::`), a path
//! ending in `Handle::spawn` or `Handle::spawn_blocking`, and `Handle::current().spawn(..)` /
//! `.spawn_blocking(..)`.
//!
//! The check is syntactic and runs on the body's tokens with the shared walker
//! ([`crate::walk`]): it sees the paths as written, in statements and inside macro
//! invocations (`tokio::select! { .. }`) alike, but not in a nested item (a `fn` or `impl`
//! declared inside the body: its own fn), not in `stringify!(..)`, and not through a `use`
//! declared outside the body, a helper fn, or a method on a value (`handle.spawn(..)`,
//! `join_set.spawn(..)`): the docs give the `clippy.toml` recipe for those. The visible escape
//! hatch is `canstop::spawn_untracked(future)`; a deliberately detached OS thread is spelled
//! `std::thread::Builder::new().spawn(..)`.
//!
//! A body with an untracked spawn is left out of the expansion until it is mended
//! ([`Mode::Blind`](crate::valid::Mode::Blind)): type-checked, the spawn of a session (not a
//! future) would be reported a second time, as E0277 at the same place.

use proc_macro2::{Spacing, TokenStream, TokenTree};

use crate::error::Errors;

const TASK: &str = "runs a task that shutdown does not wait for: use `canstop::spawn(session)?` for a `#[session]` or `canstop::start(service)?` for a `#[service]`; for a deliberately detached task, use `canstop::spawn_untracked(future)`";
const BLOCKING: &str = "runs blocking work that shutdown does not wait for: use `canstop::spawn_blocking(\"name\", closure)?`; for deliberately detached work, use `canstop::spawn_untracked(future)`";
const THREAD: &str = "runs a thread that shutdown does not wait for: use `canstop::spawn_blocking(\"name\", closure)?`; for a deliberately detached thread, use `std::thread::Builder::new().spawn(..)`, or `canstop::spawn_untracked(future)` for a task";

/// The untracked spawns named by their whole path, and what they do.
const FORBIDDEN: [(&[&str], &str); 5] = [
    (&["tokio", "spawn"], TASK),
    (&["tokio", "task", "spawn"], TASK),
    (&["tokio", "task", "spawn_local"], TASK),
    (&["tokio", "task", "spawn_blocking"], BLOCKING),
    (&["std", "thread", "spawn"], THREAD),
];

/// The `Handle` methods that spawn, and what they do.
const HANDLE_METHODS: [(&str, &str); 2] = [("spawn", TASK), ("spawn_blocking", BLOCKING)];

/// Records an error for every untracked spawn named in `body` (the body's tokens); returns
/// whether there was one.
pub(crate) fn check(body: TokenStream, errors: &mut Errors) -> bool {
    let mut found = false;
    crate::walk::walk(body, &mut |tokens, index| {
        // `a::tokio::spawn` is some other path (when not skipped whole: after a `>`, `a<T>::`);
        // `field: tokio::spawn(..)` is not.
        if index >= 2 && is_path_separator(tokens, index - 2) {
            return None;
        }
        let (segments, end) = path_at(tokens, index)?;
        // Another path is skipped whole: its tail (`a::tokio::spawn`) is not a path of its own.
        let Some((name, advice, end)) = forbidden(&segments, tokens, end) else {
            return Some(end);
        };
        let matched: TokenStream = tokens[index..end].iter().cloned().collect();
        errors.push(syn::Error::new_spanned(
            matched,
            format!("`{name}` {advice}"),
        ));
        found = true;
        Some(end)
    });
    found
}

/// The untracked spawn the path `segments`, followed by `tokens[end..]`, names: how the
/// message names it, what it does, and the index after it.
fn forbidden(
    segments: &[String],
    tokens: &[TokenTree],
    end: usize,
) -> Option<(String, &'static str, usize)> {
    let is = |path: &[&str]| path.iter().copied().eq(segments.iter().map(String::as_str));
    if let Some((path, advice)) = FORBIDDEN.iter().find(|(path, _)| is(path)) {
        return Some((path.join("::"), advice, end));
    }
    let [.., owner, last] = segments else {
        return None;
    };
    if owner != "Handle" {
        return None;
    }
    if let Some((method, advice)) = HANDLE_METHODS.iter().find(|(method, _)| last == method) {
        return Some((format!("Handle::{method}"), advice, end));
    }
    // `Handle::current().spawn`: the call's parentheses, a `.`, the method.
    if last != "current" {
        return None;
    }
    match (tokens.get(end), tokens.get(end + 1), tokens.get(end + 2)) {
        (
            Some(TokenTree::Group(call)),
            Some(TokenTree::Punct(dot)),
            Some(TokenTree::Ident(method)),
        ) if call.delimiter() == proc_macro2::Delimiter::Parenthesis
            && call.stream().is_empty()
            && dot.as_char() == '.' =>
        {
            let (method, advice) = HANDLE_METHODS.iter().find(|(name, _)| method == name)?;
            Some((format!("Handle::current().{method}"), advice, end + 3))
        }
        _ => None,
    }
}

/// `::`: a joint `:` followed by a `:`.
fn is_path_separator(tokens: &[TokenTree], index: usize) -> bool {
    matches!(
        (tokens.get(index), tokens.get(index + 1)),
        (Some(TokenTree::Punct(first)), Some(TokenTree::Punct(second)))
            if first.as_char() == ':' && first.spacing() == Spacing::Joint && second.as_char() == ':'
    )
}

/// The path `[::]a::b::c` starting at `index` (two segments at least; a turbofish ends it):
/// its segments and the index after it.
fn path_at(tokens: &[TokenTree], mut index: usize) -> Option<(Vec<String>, usize)> {
    if is_path_separator(tokens, index) {
        index += 2;
    }
    let mut segments = Vec::new();
    while let Some(TokenTree::Ident(ident)) = tokens.get(index) {
        segments.push(ident.to_string());
        index += 1;
        if !(is_path_separator(tokens, index)
            && matches!(tokens.get(index + 2), Some(TokenTree::Ident(_))))
        {
            break;
        }
        index += 2;
    }
    (segments.len() > 1).then_some((segments, index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn messages(body: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        check(body, &mut errors);
        errors.messages()
    }

    #[test]
    fn finds_each_untracked_spawn() {
        let found = messages(quote! {
            tokio::spawn(async {});
            ::tokio::task::spawn(async {});
            let _ = tokio::task::spawn_blocking(|| ());
            std::thread::spawn(|| ());
            let spawn = tokio::spawn::<F>;
        });
        assert_eq!(found.len(), 5, "{found:?}");
        assert!(
            found[0].starts_with("`tokio::spawn` runs a task"),
            "{found:?}"
        );
        assert!(
            found[1].starts_with("`tokio::task::spawn` runs a task"),
            "{found:?}"
        );
        assert!(found[2].contains("canstop::spawn_blocking"), "{found:?}");
        assert!(
            found[3].starts_with("`std::thread::spawn` runs a thread"),
            "{found:?}"
        );
    }

    #[test]
    fn looks_inside_macros_and_closures() {
        let found = messages(quote! {
            tokio::select! {
                _ = async {} => { let _ = ::tokio::spawn(async {}); }
            }
            let run = || async { tokio::spawn(async {}) };
        });
        assert_eq!(found.len(), 2, "{found:?}");
    }

    #[test]
    fn leaves_the_rest_alone() {
        let found = messages(quote! {
            canstop::spawn(job())?;
            canstop::spawn_untracked(async {})?;
            my::tokio::spawn(async {});
            crate::tokio::spawn(async {});
            handle.spawn(async {});
            println!("tokio::spawn");
            format!("{}", other::tokio::spawn);
            std::thread::Builder::new().spawn(|| ());
            fn helper() { tokio::spawn(async {}); }
            impl X { fn f() { tokio::spawn(async {}); } }
            let text = stringify!(tokio::spawn(async {}));
            tokio::select! { _ = x => { fn nested() { std::thread::spawn(|| ()); } } }
            Handle::current().block_on(async {});
            runtime.spawn(async {});
        });
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn finds_the_handle_spawns() {
        let found = messages(quote! {
            tokio::task::spawn_local(async {});
            Handle::current().spawn(async {});
            tokio::runtime::Handle::current().spawn_blocking(|| ());
            tokio::runtime::Handle::spawn(&handle, async {});
            m! { Handle::current().spawn(async {}) }
        });
        assert_eq!(
            found
                .iter()
                .map(|m| m.split(' ').next().unwrap())
                .collect::<Vec<_>>(),
            [
                "`tokio::task::spawn_local`",
                "`Handle::current().spawn`",
                "`Handle::current().spawn_blocking`",
                "`Handle::spawn`",
                "`Handle::current().spawn`",
            ]
        );
    }
}
