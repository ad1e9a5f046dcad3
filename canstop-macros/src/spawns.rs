//! Step 2b: the body check. Inside `main`, `#[service]` and `#[session]` bodies, naming
//! `tokio::spawn`, `tokio::task::spawn`, `tokio::task::spawn_blocking` or `std::thread::spawn`
//! (with or without a leading `::`) is an error that names the tracked alternative and the
//! escape hatch.
//!
//! The check is syntactic: it sees the paths as written, in expressions and inside macro
//! invocations (`tokio::select! { .. }`), but not through a `use` (`use tokio::spawn;
//! spawn(..)`) or a helper fn. Nested items (a `fn` declared inside the body) are their own
//! fns and are not checked. The visible escape hatch is `canstop::spawn_untracked(future)`;
//! a deliberately detached OS thread is spelled `std::thread::Builder::new().spawn(..)`.

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::Visit;
use syn::{Block, ExprPath, Item, Macro};

use crate::error::Errors;

/// The untracked spawns, as path segments, and what to use instead.
const FORBIDDEN: [(&[&str], &str); 4] = [
    (
        &["tokio", "spawn"],
        "runs a task that shutdown does not wait for: use `canstop::spawn(session)?` for a `#[session]` or `canstop::start(service)?` for a `#[service]`; for a deliberately detached task, use `canstop::spawn_untracked(future)`",
    ),
    (
        &["tokio", "task", "spawn"],
        "runs a task that shutdown does not wait for: use `canstop::spawn(session)?` for a `#[session]` or `canstop::start(service)?` for a `#[service]`; for a deliberately detached task, use `canstop::spawn_untracked(future)`",
    ),
    (
        &["tokio", "task", "spawn_blocking"],
        "runs blocking work that shutdown does not wait for: use `canstop::spawn_blocking(\"name\", closure)?`; for deliberately detached work, use `canstop::spawn_untracked(future)`",
    ),
    (
        &["std", "thread", "spawn"],
        "runs a thread that shutdown does not wait for: use `canstop::spawn_blocking(\"name\", closure)?`; for a deliberately detached thread, use `std::thread::Builder::new().spawn(..)`, or `canstop::spawn_untracked(future)` for a task",
    ),
];

/// Records an error for every untracked spawn named in `block`.
pub(crate) fn check(block: &Block, errors: &mut Errors) {
    let mut visitor = Visitor { errors };
    visitor.visit_block(block);
}

struct Visitor<'a> {
    errors: &'a mut Errors,
}

impl Visitor<'_> {
    fn report(&mut self, segments: &[String], tokens: TokenStream) {
        let Some((path, advice)) = FORBIDDEN
            .iter()
            .find(|(path, _)| path.iter().copied().eq(segments.iter().map(String::as_str)))
        else {
            return;
        };
        self.errors.push(syn::Error::new_spanned(
            tokens,
            format!("`{}` {advice}", path.join("::")),
        ));
    }
}

impl<'ast> Visit<'ast> for Visitor<'_> {
    fn visit_expr_path(&mut self, expr: &'ast ExprPath) {
        if expr.qself.is_none() {
            let segments: Vec<String> = expr
                .path
                .segments
                .iter()
                .map(|segment| segment.ident.to_string())
                .collect();
            self.report(&segments, quote::quote!(#expr));
        }
        syn::visit::visit_expr_path(self, expr);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        self.scan(mac.tokens.clone());
    }

    // A fn, impl or module declared inside the body is not part of it.
    fn visit_item(&mut self, _: &'ast Item) {}
}

impl Visitor<'_> {
    /// Looks for the forbidden paths in a macro's tokens, which syn does not parse.
    fn scan(&mut self, tokens: TokenStream) {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut index = 0;
        while index < tokens.len() {
            if let TokenTree::Group(group) = &tokens[index] {
                self.scan(group.stream());
                index += 1;
                continue;
            }
            // `a::tokio::spawn` is some other path; `field: tokio::spawn(..)` is not.
            let after_path_separator = index >= 2 && is_path_separator(&tokens, index - 2);
            if !after_path_separator {
                if let Some((segments, end)) = path_at(&tokens, index) {
                    let matched: TokenStream = tokens[index..end].iter().cloned().collect();
                    self.report(&segments, matched);
                    index = end;
                    continue;
                }
            }
            index += 1;
        }
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

/// The path `[::]a::b::c` starting at `index`: its segments and the index after it.
fn path_at(tokens: &[TokenTree], mut index: usize) -> Option<(Vec<String>, usize)> {
    if is_path_separator(tokens, index) {
        index += 2;
    }
    let mut segments = Vec::new();
    loop {
        let TokenTree::Ident(ident) = tokens.get(index)? else {
            return None;
        };
        segments.push(ident.to_string());
        index += 1;
        if !is_path_separator(tokens, index) {
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
        let block: Block = syn::parse2(quote!({ #body })).unwrap();
        let mut errors = Errors::default();
        check(&block, &mut errors);
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
        });
        assert!(found.is_empty(), "{found:?}");
    }
}
