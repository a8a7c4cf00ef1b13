pub mod bidirectional;
pub mod rnn;
pub mod time_distributed;
