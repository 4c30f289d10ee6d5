//! The bundle's Lambda functions, by the name of their binary: the one list
//! the route table, the variable table and the IAM lists refer to.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Function {
    Start,
    Close,
    Callback,
    Watchdog,
    Archiver,
    History,
}

impl Function {
    pub const ALL: &'static [Function] = &[
        Function::Start,
        Function::Close,
        Function::Callback,
        Function::Watchdog,
        Function::Archiver,
        Function::History,
    ];

    /// The binary's name (`functions/<name>`), and the `Function` metric dimension.
    pub fn name(self) -> &'static str {
        match self {
            Function::Start => "start",
            Function::Close => "close",
            Function::Callback => "callback",
            Function::Watchdog => "watchdog",
            Function::Archiver => "archiver",
            Function::History => "history",
        }
    }

    /// The function of a binary name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|function| function.name() == name)
    }
}

impl std::fmt::Display for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
