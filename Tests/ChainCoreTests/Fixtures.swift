import Crypto
import Foundation
@testable import ChainCore

import TestSupport

typealias Wallet = TestWallet
typealias Fixtures = ChainFixtures

func expectReason(_ reason: RejectReason, _ body: () throws -> Void,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try body()
        Issue.record("expected \(reason.rawValue), but it was accepted", sourceLocation: sourceLocation)
    } catch let error as ValidationError {
        #expect(error.reason == reason, "got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(reason.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

func expectReasonAsync(_ reason: RejectReason, _ body: () async throws -> Void,
                       sourceLocation: SourceLocation = #_sourceLocation) async {
    do {
        try await body()
        Issue.record("expected \(reason.rawValue), but it was accepted", sourceLocation: sourceLocation)
    } catch let error as ValidationError {
        #expect(error.reason == reason, "got \(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(reason.rawValue), got \(error)", sourceLocation: sourceLocation)
    }
}

import Testing
