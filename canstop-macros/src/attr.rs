//! Step 1a: the attribute's options, `#[service(name = "x", timeout = "10s")]`, parsed into
//! typed values.
//!
//! Every option is `key = literal`. Values are checked here as far as they can be on their
//! own (a duration parses, a flavor is known, a count is positive); what depends on the other
//! options or on the fn is checked in [`crate::valid`]. Every problem is recorded and parsing
//! goes on, so that the user sees all of them at once; an option in error is left unset.

use std::time::Duration;

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Path, Token};

use crate::duration::parse_duration;
use crate::error::Errors;

/// The four macros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Macro {
    Main,
    Service,
    Session,
    Test,
}

impl Macro {
    /// How the attribute is written, for messages.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Self::Main => "#[canstop::main]",
            Self::Service => "#[service]",
            Self::Session => "#[session]",
            Self::Test => "#[canstop::test]",
        }
    }

    /// The options it accepts, in the order its docs list them.
    fn options(self) -> &'static [Key] {
        match self {
            Self::Main => &[Key::Timeout, Key::Flavor, Key::WorkerThreads, Key::Crate],
            Self::Service => &[Key::Name, Key::Timeout, Key::Crate],
            Self::Session => &[Key::Name, Key::Crate],
            Self::Test => &[
                Key::Flavor,
                Key::WorkerThreads,
                Key::StartPaused,
                Key::Timeout,
                Key::Crate,
            ],
        }
    }
}

/// Every option key any macro knows, including the planned ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Name,
    Timeout,
    Flavor,
    WorkerThreads,
    StartPaused,
    Crate,
    Restart,
    Needs,
}

const ALL_KEYS: [Key; 8] = [
    Key::Name,
    Key::Timeout,
    Key::Flavor,
    Key::WorkerThreads,
    Key::StartPaused,
    Key::Crate,
    Key::Restart,
    Key::Needs,
];

impl Key {
    fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Timeout => "timeout",
            Self::Flavor => "flavor",
            Self::WorkerThreads => "worker_threads",
            Self::StartPaused => "start_paused",
            Self::Crate => "crate",
            Self::Restart => "restart",
            Self::Needs => "needs",
        }
    }

    fn from_ident(ident: &Ident) -> Option<Self> {
        let text = ident.unraw().to_string();
        ALL_KEYS.into_iter().find(|key| key.as_str() == text)
    }

    /// How a value is written, for messages.
    fn example(self) -> &'static str {
        match self {
            Self::Name => "name = \"acceptor\"",
            Self::Timeout => "timeout = \"10s\"",
            Self::Flavor => "flavor = \"current_thread\"",
            Self::WorkerThreads => "worker_threads = 4",
            Self::StartPaused => "start_paused = true",
            Self::Crate => "crate = \"::my_crate::canstop\"",
            Self::Restart | Self::Needs => "",
        }
    }
}

/// Which runtime `#[canstop::main]` and `#[canstop::test]` build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
}

/// A value together with its `key = value` tokens, for the errors of [`crate::valid`].
#[derive(Debug, Clone)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    tokens: TokenStream,
}

impl<T> Spanned<T> {
    /// Where the option starts (its key), for generated code that reports about it.
    pub(crate) fn span(&self) -> proc_macro2::Span {
        self.tokens
            .clone()
            .into_iter()
            .next()
            .map_or_else(proc_macro2::Span::call_site, |token| token.span())
    }

    /// An error spanning the whole `key = value`.
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> syn::Error {
        syn::Error::new_spanned(&self.tokens, message)
    }
}

/// The options as given; `None` where absent or in error.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) name: Option<Spanned<String>>,
    pub(crate) timeout: Option<Spanned<Duration>>,
    pub(crate) flavor: Option<Spanned<Flavor>>,
    pub(crate) worker_threads: Option<Spanned<usize>>,
    pub(crate) start_paused: Option<Spanned<bool>>,
    pub(crate) krate: Option<Path>,
}

/// One `key = value` (or a bare `key`) as written.
struct RawOption {
    key: Ident,
    value: Option<Expr>,
}

fn parse_raw(input: ParseStream<'_>) -> syn::Result<Punctuated<RawOption, Token![,]>> {
    Punctuated::parse_terminated_with(input, |input| {
        // `Ident::parse_any` accepts keywords: `crate = "..."`.
        let key = input.call(Ident::parse_any)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse::<Expr>()?)
        } else {
            None
        };
        Ok(RawOption { key, value })
    })
}

/// Parses the attribute's arguments for `mac`.
pub(crate) fn parse(mac: Macro, args: TokenStream, errors: &mut Errors) -> Options {
    let mut options = Options::default();
    let raw = match parse_raw.parse2(args) {
        Ok(raw) => raw,
        Err(error) => {
            errors.push(error);
            return options;
        }
    };
    let mut seen: Vec<Key> = Vec::new();
    for RawOption { key: ident, value } in raw {
        let Some(key) = Key::from_ident(&ident) else {
            errors.push(unknown_option(mac, &ident));
            continue;
        };
        if seen.contains(&key) {
            errors.push(syn::Error::new(
                ident.span(),
                format!("duplicate option `{}`: give it once", key.as_str()),
            ));
            continue;
        }
        seen.push(key);
        if let Some(error) = not_allowed(mac, key, &ident) {
            errors.push(error);
            continue;
        }
        let Some(value) = value else {
            errors.push(syn::Error::new(
                ident.span(),
                format!("`{}` needs a value, like `{}`", key.as_str(), key.example()),
            ));
            continue;
        };
        let span = quote::quote!(#ident = #value);
        if let Err(error) = set(&mut options, key, &value, span) {
            errors.push(error);
        }
    }
    options
}

fn set(options: &mut Options, key: Key, value: &Expr, tokens: TokenStream) -> syn::Result<()> {
    match key {
        Key::Name => {
            let lit = string(key, value)?;
            let name = lit.value();
            if name.trim().is_empty() {
                return Err(syn::Error::new(lit.span(), "the name cannot be empty"));
            }
            if name.contains('/') {
                return Err(syn::Error::new(
                    lit.span(),
                    "a name cannot contain `/`: it separates the names in a service's path",
                ));
            }
            options.name = Some(Spanned {
                value: name,
                tokens,
            });
        }
        Key::Timeout => {
            let lit = duration_string(value)?;
            let duration = parse_duration(&lit.value()).map_err(|error| {
                syn::Error::new(
                    lit.span(),
                    format!(
                        "invalid duration {:?}: {}; write it like \"250ms\", \"10s\", \"1m30s\" or \"2h\"",
                        lit.value(),
                        error.reason()
                    ),
                )
            })?;
            options.timeout = Some(Spanned {
                value: duration,
                tokens,
            });
        }
        Key::Flavor => {
            let lit = string(key, value)?;
            let flavor = match lit.value().as_str() {
                "current_thread" => Flavor::CurrentThread,
                "multi_thread" => Flavor::MultiThread,
                other => {
                    return Err(syn::Error::new(
                        lit.span(),
                        format!(
                        "unknown flavor {other:?}: expected \"current_thread\" or \"multi_thread\""
                    ),
                    ))
                }
            };
            options.flavor = Some(Spanned {
                value: flavor,
                tokens,
            });
        }
        Key::WorkerThreads => {
            let Expr::Lit(ExprLit {
                lit: Lit::Int(lit), ..
            }) = value
            else {
                return Err(expected(key, value, "an integer literal"));
            };
            let workers: usize = lit.base10_parse()?;
            if workers == 0 {
                return Err(syn::Error::new(
                    lit.span(),
                    "`worker_threads` must be at least 1",
                ));
            }
            options.worker_threads = Some(Spanned {
                value: workers,
                tokens,
            });
        }
        Key::StartPaused => {
            let Expr::Lit(ExprLit {
                lit: Lit::Bool(lit),
                ..
            }) = value
            else {
                return Err(expected(key, value, "`true` or `false`"));
            };
            options.start_paused = Some(Spanned {
                value: lit.value,
                tokens,
            });
        }
        Key::Crate => {
            let lit = string(key, value)?;
            options.krate = Some(lit.parse::<Path>().map_err(|_| {
                syn::Error::new(
                    lit.span(),
                    format!(
                        "{:?} is not a path; write the path to canstop, like `{}`",
                        lit.value(),
                        key.example()
                    ),
                )
            })?);
        }
        // `not_allowed` has rejected them.
        Key::Restart | Key::Needs => {}
    }
    Ok(())
}

fn string(key: Key, value: &Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        _ => Err(expected(key, value, "a string literal")),
    }
}

/// A `timeout` value: a string, with a pointed message for the number people write instead.
fn duration_string(value: &Expr) -> syn::Result<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit.clone()),
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) if !lit.suffix().is_empty() => Err(syn::Error::new(
            lit.span(),
            format!(
                "write the duration as a string: `timeout = \"{}{}\"`",
                lit.base10_digits(),
                lit.suffix()
            ),
        )),
        Expr::Lit(ExprLit {
            lit: Lit::Int(lit), ..
        }) => Err(syn::Error::new(
            lit.span(),
            format!(
                "a bare number has no unit: write the duration as a string with its unit, like `timeout = \"{}s\"`",
                lit.base10_digits()
            ),
        )),
        _ => Err(expected(Key::Timeout, value, "a string literal")),
    }
}

fn expected(key: Key, value: &Expr, what: &str) -> syn::Error {
    let why = match value {
        Expr::Lit(_) => "",
        _ => " (it is read at compile time, so it cannot be a constant or an expression)",
    };
    syn::Error::new_spanned(
        value,
        format!(
            "`{}` takes {what}, like `{}`{why}",
            key.as_str(),
            key.example()
        ),
    )
}

/// The error for a known key that `mac` does not take.
fn not_allowed(mac: Macro, key: Key, ident: &Ident) -> Option<syn::Error> {
    if mac.options().contains(&key) {
        return None;
    }
    let message = match (mac, key) {
        (Macro::Service, Key::Restart) => {
            "`restart` is not supported yet: restart policies are planned for a later version of canstop".to_owned()
        }
        (Macro::Service, Key::Needs) => {
            "`needs` is not supported yet: dependencies between services are planned for a later version of canstop".to_owned()
        }
        (Macro::Session, Key::Timeout) => {
            "`#[session]` has no `timeout`: a session drains within the deadline of its scope; set `timeout` on the enclosing `#[service]` or on `#[canstop::main]`".to_owned()
        }
        _ => {
            let owners: Vec<String> = [Macro::Main, Macro::Service, Macro::Session, Macro::Test]
                .into_iter()
                .filter(|other| other.options().contains(&key))
                .map(|owner| format!("`{}`", owner.attr()))
                .collect();
            let owners = if owners.is_empty() {
                String::from("no macro: it is planned for `#[service]`")
            } else {
                list(&owners, "and")
            };
            format!(
                "`{}` is not an option of `{}`: it belongs to {owners}",
                key.as_str(),
                mac.attr()
            )
        }
    };
    Some(syn::Error::new(ident.span(), message))
}

fn unknown_option(mac: Macro, ident: &Ident) -> syn::Error {
    let text = ident.unraw().to_string();
    let names: Vec<&str> = mac.options().iter().map(|key| key.as_str()).collect();
    let closest = names
        .iter()
        .map(|name| (edit_distance(&text, name), *name))
        .filter(|(distance, name)| *distance <= 2 && *distance < name.len())
        .min();
    let message = match closest {
        Some((_, name)) => format!(
            "unknown option `{text}` for `{}`: did you mean `{name}`?",
            mac.attr()
        ),
        None => format!(
            "unknown option `{text}` for `{}`: its options are {}",
            mac.attr(),
            list(
                &names
                    .iter()
                    .map(|name| format!("`{name}`"))
                    .collect::<Vec<_>>(),
                "and"
            )
        ),
    };
    syn::Error::new(ident.span(), message)
}

/// `a`, `a and b`, `a, b and c`.
fn list<S: AsRef<str>>(items: &[S], last: &str) -> String {
    match items {
        [] => String::new(),
        [only] => only.as_ref().to_owned(),
        [init @ .., tail] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} {last} {}", init.join(", "), tail.as_ref())
        }
    }
}

/// Levenshtein distance, for "did you mean".
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_ok(mac: Macro, args: TokenStream) -> Options {
        let mut errors = Errors::default();
        let options = parse(mac, args, &mut errors);
        assert!(errors.is_empty(), "unexpected errors: {errors:?}");
        options
    }

    fn messages(mac: Macro, args: TokenStream) -> Vec<String> {
        let mut errors = Errors::default();
        let _ = parse(mac, args, &mut errors);
        errors.messages()
    }

    #[test]
    fn parses_every_option() {
        let options = parse_ok(
            Macro::Test,
            quote!(
                flavor = "multi_thread",
                worker_threads = 3,
                start_paused = false,
                timeout = "1m30s",
                crate = "::x::canstop"
            ),
        );
        assert_eq!(options.flavor.unwrap().value, Flavor::MultiThread);
        assert_eq!(options.worker_threads.unwrap().value, 3);
        assert!(!options.start_paused.unwrap().value);
        assert_eq!(options.timeout.unwrap().value, Duration::from_secs(90));
        let krate = options.krate.unwrap();
        assert_eq!(quote!(#krate).to_string(), ":: x :: canstop");

        let options = parse_ok(Macro::Service, quote!(name = "acceptor",));
        assert_eq!(options.name.unwrap().value, "acceptor");
    }

    #[test]
    fn reports_every_mistake_not_only_the_first() {
        let found = messages(
            Macro::Service,
            quote!(
                nme = "x",
                timeout = "10x",
                timeout = "1s",
                flavor = "current_thread"
            ),
        );
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].contains("did you mean `name`?"), "{found:?}");
        assert!(found[1].contains("unknown unit"), "{found:?}");
        assert!(
            found[2].starts_with("duplicate option `timeout`"),
            "{found:?}"
        );
        assert!(
            found[3].contains("not an option of `#[service]`"),
            "{found:?}"
        );
    }

    #[test]
    fn explains_the_value_expected() {
        let found = messages(
            Macro::Main,
            quote!(timeout = 10, worker_threads = "4", flavor = FLAVOR),
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("`timeout = \"10s\"`"), "{found:?}");
        assert!(found[1].contains("an integer literal"), "{found:?}");
        assert!(found[2].contains("cannot be a constant"), "{found:?}");
    }

    #[test]
    fn lists_and_distances() {
        assert_eq!(list(&["a"], "and"), "a");
        assert_eq!(list(&["a", "b", "c"], "and"), "a, b and c");
        assert_eq!(edit_distance("timout", "timeout"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("flavor", "flavor"), 0);
    }
}
