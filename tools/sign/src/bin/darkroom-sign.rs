//! `darkroom-sign`: prints signed URLs for darkroom's originals and thumbnails.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match sign::run(&args, |name| std::env::var(name).ok(), sign::unix_now()) {
        Ok(sign::Outcome::Help) => print!("{}", sign::USAGE),
        Ok(sign::Outcome::Urls(urls)) => urls.iter().for_each(|url| println!("{url}")),
        Err(err) => {
            eprintln!("darkroom-sign: {err:#}");
            eprintln!("(darkroom-sign --help for usage)");
            std::process::exit(2);
        }
    }
}
