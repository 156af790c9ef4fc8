// The service runtime re-exports the contract, so a service that imports NodeKit sees the
// messages, topics and endpoints it speaks without a second import.
@_exported import CairnContract
