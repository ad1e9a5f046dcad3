//! Shared pieces of canstop's behaviour tests: the child programs in `src/bin` print their
//! report in a line-oriented form that the tests in `tests/` parse.
