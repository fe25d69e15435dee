// libFuzzer target `fhir-search`: arbitrary bytes as a FHIR search, `Type?name=value&…`
// (percent-decoded where it decodes), planned into SQL by SearchQuery. Compiled by
// scripts/fuzz.sh into the module BedsideFHIR with SearchQuery.swift, SearchParameter.swift,
// DateComparison.swift, FHIRDate.swift and what they use.
import Foundation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFHIRSearch(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: data == nil ? 0 : size)
    let text = String(decoding: bytes, as: UTF8.self)
    let (type, query) =
        if let mark = text.firstIndex(of: "?") {
            (String(text[..<mark]), String(text[text.index(after: mark)...]))
        } else {
            (text, "")
        }
    var parameters: [(name: String, value: String)] = []
    for pair in query.split(separator: "&", omittingEmptySubsequences: false) {
        let name: Substring
        let value: Substring
        if let equals = pair.firstIndex(of: "=") {
            (name, value) = (pair[..<equals], pair[pair.index(after: equals)...])
        } else {
            (name, value) = (pair, "")
        }
        parameters.append((decoded(name), decoded(value)))
    }
    do {
        let search = try SearchQuery(type: type, parameters: parameters)
        check(search)
    } catch let error as FHIRStoreError {
        require(error.code == .invalidValue || error.code == .unknownParameter, "unexpected code \(error.code)")
        require(!error.message.isEmpty, "refusal without a message")
    } catch {
        fatalError("SearchQuery threw \(Swift.type(of: error))")
    }
    return 0
}

private func decoded(_ text: Substring) -> String {
    String(text).removingPercentEncoding ?? String(text)
}

/// What the store relies on when it runs the query.
private func check(_ search: SearchQuery) {
    // Every value is bound, never spliced: the SQL has exactly one marker per argument.
    let markers = search.whereClause.filter { $0 == "?" }.count
    require(markers == search.arguments.count, "\(markers) markers for \(search.arguments.count) arguments")
    require(!search.orderClause.contains("?"), "markers in ORDER BY")
    require(!search.whereClause.contains(";") && !search.orderClause.contains(";"), "a statement separator in the SQL")
    require(balanced(search.whereClause) && balanced(search.orderClause), "unbalanced SQL")
    require((0...SearchQuery.maximumCount).contains(search.count), "_count \(search.count) out of range")
    require(search.offset >= 0, "negative _offset")
    // The store computes the next page's offset from these; any total must give a sane answer.
    for total in [0, 1, search.offset, Int.max] {
        if let next = search.nextOffset(total: total) {
            require(next > search.offset && next < total, "next offset \(next) for total \(total)")
        }
    }
}

/// Whether quotes and parentheses of generated SQL pair up (it has no quoted values of its own).
private func balanced(_ sql: String) -> Bool {
    var depth = 0
    var quoted = false
    for character in sql {
        switch character {
        case "'": quoted.toggle()
        case "(" where !quoted: depth += 1
        case ")" where !quoted:
            depth -= 1
            if depth < 0 { return false }
        default: break
        }
    }
    return depth == 0 && !quoted
}
