fn main() {
    println!("agent on {}", std::env::consts::ARCH);
}
