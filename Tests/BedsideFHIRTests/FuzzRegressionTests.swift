import BedsideCore
import Foundation
import Testing

@testable import BedsideFHIR

extension FHIRTests {
    /// The inputs the fuzz targets (Fuzz/, scripts/fuzz.sh) broke, fed as they were found.
    @Suite struct FuzzRegressionTests {
        /// fhir-date: a time late on 9999-12-31 west of UTC fell in the year 10000, whose ISO text
        /// (what `_lastUpdated` compares) has five digits and parses as no date; `+99:99` and the
        /// year 0000, which the R4 pattern forbids, were read as dates.
        @Test func datesStayWithinTheYearsFHIRAllows() throws {
            let late = try #require(FHIRDate.range("9999-12-31T23:59:59-12:00"))
            #expect(late == FHIRDate.maximum...FHIRDate.maximum)
            #expect(FHIRDate.iso(late.lowerBound) == "9999-12-31T23:59:59Z")
            let early = try #require(FHIRDate.range("0001-01-01T00:00:00+14:00"))
            #expect(early == FHIRDate.minimum...FHIRDate.minimum)
            #expect(FHIRDate.range(FHIRDate.iso(early.lowerBound))?.lowerBound == early.lowerBound)
            for text in ["0000", "0000-01-01", "2019-05-10T10:00:00+99:99", "2019-05-10T10:00:00+14:01", "2019-05-10T10:00:00-15:00"] {
                #expect(FHIRDate.range(text) == nil, "\(text)")
            }
            #expect(FHIRDate.range("2019-05-10T10:00:00+14:00") != nil)
            #expect(FHIRDate.range("2019-05-10T10:00:00-13:59") != nil)
        }

        /// fhir-date, seen through the store: `_lastUpdated=le` a late-9999 time compared its
        /// five-digit year as text and matched nothing.
        @Test func lastUpdatedBeforeTheEndOfTimeMatchesEverything() async throws {
            let clinic = try await Fixture.clinic()
            let page = try await clinic.store.search(type: "Patient", parameters: [("_lastUpdated", "le9999-12-31T23:59:59-12:00")])
            #expect(try ids(page).sorted() == ["p1", "p2"])
        }

        /// fhir-search: `_offset=9223372036854775807` overflowed `offset + count` when the store
        /// worked out the next page, trapping the process.
        @Test func largestOffsetIsTheLastPage() async throws {
            let query = try SearchQuery(type: "Observation", parameters: [("_count", "500"), ("_offset", "9223372036854775807")])
            #expect(query.nextOffset(total: Int.max) == nil)
            #expect(query.nextOffset(total: 0) == nil)

            let clinic = try await Fixture.clinic()
            let page = try await clinic.store.search(type: "Patient", parameters: [("_offset", String(Int.max))])
            #expect(page.resources.isEmpty)
            #expect(page.total == 2)
            #expect(page.nextOffset == nil)
        }
    }
}
