import L10n

/// The language of the command line's messages: LC_ALL, LC_MESSAGES or LANG (`de_DE.UTF-8`), else
/// English. Lines other programs read (`listening on`, import summaries) stay in English.
let cli: Localizer = {
    let env = Environment.current
    let raw = env.string("LC_ALL") ?? env.string("LC_MESSAGES") ?? env.string("LANG") ?? ""
    let tag = raw.split(separator: ".").first.map { $0.replacingOccurrences(of: "_", with: "-") } ?? ""
    if tag.isEmpty || tag == "C" || tag == "POSIX" { return .english }
    return Translations.shared.localizer(Translations.shared.negotiate(acceptLanguage: tag))
}()
