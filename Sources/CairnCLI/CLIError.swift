/// A runtime failure: ArgumentParser prints "Error: <message>" without the usage text and exits 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
