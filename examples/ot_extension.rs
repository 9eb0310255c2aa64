//! Oblivious transfer on its own, for protocol engineers: two parties over a
//! TCP connection on the loopback interface, one session of 128 base OTs,
//! then several extension calls of each kind.
//!
//! ```text
//! cargo run --release --example ot_extension
//! ```
//!
//! Any `Read + Write` transport works the same way: wrap it in
//! `garblet::engine::channel::Channel` and hand the channel to the OT calls.
//! Both parties must make the same sequence of calls with the same counts.

use std::error::Error;
use std::net::{TcpListener, TcpStream};
use std::thread;
use std::time::Instant;

use garblet::engine::channel::Channel;
use garblet::engine::ot::{OtExtReceiver, OtExtSender, SemiHonest};
use garblet::engine::Block;
use garblet::engine::{Delta, Prg};

const N: usize = 1 << 20;

type AnyError = Box<dyn Error + Send + Sync>;

/// What the sender ends with: zero labels, Δ, and the chosen messages.
struct SenderOutput {
    zero_labels: Vec<Block>,
    delta: Block,
    messages: Vec<[Block; 2]>,
}

fn sender(stream: TcpStream) -> Result<SenderOutput, AnyError> {
    stream.set_nodelay(true)?;
    let mut ch = Channel::new(stream);
    let mut prg = Prg::from_entropy();
    // In garbling, this is the garbler's free-XOR offset.
    let delta = Delta::random(&mut prg);
    let delta_block = delta.as_block();
    let mut ot = OtExtSender::<SemiHonest>::setup(&mut ch, &mut prg, delta)?;

    // 1. Correlated OT: zero labels; the receiver gets zero ⊕ bit·Δ.
    let mut zero_labels = vec![Block::ZERO; N];
    ot.send_correlated(&mut ch, &mut zero_labels)?;

    // 2. Chosen-message OT: the receiver gets messages[j][bit_j].
    let messages: Vec<[Block; 2]> =
        (0..1000u128).map(|j| [Block::new(2 * j), Block::new(2 * j + 1)]).collect();
    ot.send_chosen(&mut ch, &messages)?;
    eprintln!("sender: {} bytes sent, {} bytes received", ch.bytes_sent(), ch.bytes_received());
    Ok(SenderOutput { zero_labels, delta: delta_block, messages })
}

fn main() -> Result<(), AnyError> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let garbler = thread::spawn(move || -> Result<_, AnyError> {
        let (stream, _) = listener.accept()?;
        sender(stream)
    });

    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut ch = Channel::new(stream);
    let mut prg = Prg::from_entropy();

    let t = Instant::now();
    let mut ot = OtExtReceiver::<SemiHonest>::setup(&mut ch, &mut prg)?;
    eprintln!("receiver: 128 base OTs in {:.2?}", t.elapsed());

    let bits: Vec<bool> = (0..N).map(|_| prg.random_bool()).collect();
    let mut labels = vec![Block::ZERO; N];
    let t = Instant::now();
    ot.receive_correlated(&mut ch, &bits, &mut labels)?;
    let dt = t.elapsed();
    eprintln!(
        "receiver: {N} correlated OTs in {dt:.2?} ({:.1} M OT/s over loopback TCP)",
        N as f64 / dt.as_secs_f64() / 1e6
    );

    let choices: Vec<bool> = (0..1000).map(|j| j % 3 == 0).collect();
    let mut chosen = vec![Block::ZERO; 1000];
    ot.receive_chosen(&mut ch, &choices, &mut chosen)?;

    let SenderOutput { zero_labels, delta, messages } =
        garbler.join().map_err(|_| "sender thread panicked")??;
    let correlated_ok = (0..N).all(|j| labels[j] == zero_labels[j] ^ delta.select(bits[j]));
    let chosen_ok = (0..1000).all(|j| chosen[j] == messages[j][usize::from(choices[j])]);
    println!("correlated OT correct: {correlated_ok}; chosen-message OT correct: {chosen_ok}");
    println!(
        "receiver: {} bytes sent ({:.2} bytes per correlated OT incl. base OTs)",
        ch.bytes_sent(),
        ch.bytes_sent() as f64 / N as f64
    );
    if correlated_ok && chosen_ok {
        Ok(())
    } else {
        Err("OT outputs do not match".into())
    }
}
