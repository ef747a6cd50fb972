//! The `lyt` command line.

fn main() {}
