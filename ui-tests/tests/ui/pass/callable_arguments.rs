//! Owned callables are owned arguments, whatever references their signatures take: `Fn(..)`
//! sugar, `fn` pointers and `for<'a>` lifetimes are the callable's own, not borrows.

use std::sync::Arc;

use canstop::{service, session, Root, Shutdown};

#[session]
async fn filter(
    pred: Box<dyn Fn(&str) -> bool + Send + Sync>,
    parse: fn(&[u8]) -> usize,
    first: Arc<dyn for<'a> Fn(&'a str) -> &'a str + Send + Sync>,
    input: String,
) -> Result<(), String> {
    if pred(&input) && parse(input.as_bytes()) == 5 && first(&input) == "h" {
        Ok(())
    } else {
        Err(format!("{input:?} did not pass"))
    }
}

#[service]
async fn parser(shutdown: Shutdown, parse: for<'a> fn(&'a str) -> Option<&'a str>) {
    assert_eq!(parse("key=value"), Some("value"));
    shutdown.requested().await;
}

fn main() {
    let report = Root::new()
        .signals(false)
        .block_on(async {
            canstop::start(parser(|line| line.split_once('=').map(|(_, v)| v)))?;
            canstop::spawn(filter(
                Box::new(|s| !s.is_empty()),
                |bytes| bytes.len(),
                Arc::new(|s| &s[..1]),
                "hello".to_owned(),
            ))?;
            canstop::shutdown()
        })
        .unwrap();
    let filters = report.sessions_named("filter").unwrap();
    assert_eq!((filters.started, filters.finished), (1, 1), "{report}");
    assert_eq!(report.exit_code(), 0, "{report}");
}
