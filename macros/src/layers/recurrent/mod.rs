pub mod rnn;
