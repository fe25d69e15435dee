// libFuzzer target `fhir-date`: arbitrary bytes as a FHIR date, dateTime or instant, and as a
// date search value with its prefix. Compiled by scripts/fuzz.sh into the module BedsideFHIR
// with FHIRDate.swift, DateComparison.swift and what they use.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFHIRDate(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: data == nil ? 0 : size)
    // Search values arrive as Swift strings; invalid UTF-8 becomes U+FFFD on the way in.
    let text = String(decoding: bytes, as: UTF8.self)
    if let range = FHIRDate.range(text) {
        check(range, of: text)
    }
    do {
        let comparison = try DateComparison(text, parameter: "date")
        require(comparison.range.lowerBound <= comparison.range.upperBound, "empty range")
        // Each use of the condition binds as many arguments as it has markers.
        let markers = comparison.sql(start: "d.start", end: "d.end").filter { $0 == "?" }.count
        require(comparison.arguments.count == markers, "\(markers) markers, \(comparison.arguments.count) arguments")
        require(comparison.lexicalArguments.count == markers, "lexical arguments do not match the markers")
    } catch let error as FHIRStoreError {
        require(error.code == .invalidValue, "unexpected code \(error.code)")
    } catch {
        fatalError("DateComparison threw \(type(of: error))")
    }
    return 0
}

private func check(_ range: ClosedRange<Int64>, of text: String) {
    // A parsed value lies within the years FHIR allows, 0001 to 9999, whatever its offset.
    require(range.lowerBound >= FHIRDate.minimum, "\(text): starts before 0001-01-01")
    require(range.upperBound <= FHIRDate.maximum, "\(text): ends after 9999-12-31")
    // Its start, written as ISO text, parses back to the same second.
    let start = FHIRDate.iso(range.lowerBound)
    guard let reparsed = FHIRDate.range(start) else {
        fatalError("\(text): start \(start) does not parse back")
    }
    require(reparsed.lowerBound == range.lowerBound, "\(text): \(start) parses to another second")
    // The calendar arithmetic is its own inverse on the day of the start.
    let days = Int(range.lowerBound.floorDiv(86_400))
    let (year, month, day) = FHIRDate.civilFromDays(days)
    require(FHIRDate.daysFromCivil(year, month, day) == days, "civil date round trip fails for day \(days)")
    require((1...12).contains(month) && (1...FHIRDate.daysIn(year, month)).contains(day), "impossible date \(year)-\(month)-\(day)")
}

extension Int64 {
    fileprivate func floorDiv(_ divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
