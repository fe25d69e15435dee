import Foundation
import Testing

@testable import BedsideFHIR

extension FHIRTests {
    /// Partial dates as ranges, time zones and the calendar arithmetic under them.
    @Suite struct FHIRDateTests {
        func iso(_ text: String) -> (String, String)? {
            FHIRDate.range(text).map { (FHIRDate.iso($0.lowerBound), FHIRDate.iso($0.upperBound)) }
        }

        @Test func partialDatesCoverTheWholePeriod() {
            #expect(iso("2019")! == ("2019-01-01T00:00:00Z", "2019-12-31T23:59:59Z"))
            #expect(iso("2019-05")! == ("2019-05-01T00:00:00Z", "2019-05-31T23:59:59Z"))
            #expect(iso("2020-02")! == ("2020-02-01T00:00:00Z", "2020-02-29T23:59:59Z"))
            #expect(iso("1900-02")! == ("1900-02-01T00:00:00Z", "1900-02-28T23:59:59Z"))
            #expect(iso("2019-05-10")! == ("2019-05-10T00:00:00Z", "2019-05-10T23:59:59Z"))
            #expect(iso("2019-05-10T10:30")! == ("2019-05-10T10:30:00Z", "2019-05-10T10:30:59Z"))
            #expect(iso("2019-05-10T10:30:15.123Z")! == ("2019-05-10T10:30:15Z", "2019-05-10T10:30:15Z"))
        }

        @Test func offsetsAreConvertedToUTC() {
            #expect(iso("2011-06-24T18:47:16-04:00")! == ("2011-06-24T22:47:16Z", "2011-06-24T22:47:16Z"))
            #expect(iso("2021-01-01T01:00:00+02:00")! == ("2020-12-31T23:00:00Z", "2020-12-31T23:00:00Z"))
        }

        @Test(arguments: [
            "", "19", "2019-13", "2019-02-30", "2019-05-10T25:00", "2019-05-10T10", "2019-05-10 10:00", "2019-05-10T10:00:00+0200", "soon",
        ])
        func rejectsWhatIsNotADate(_ text: String) {
            #expect(FHIRDate.range(text) == nil)
        }

        @Test func civilDaysRoundTrip() {
            for days in stride(from: -800_000, through: 800_000, by: 997) {
                let (year, month, day) = FHIRDate.civilFromDays(days)
                #expect(FHIRDate.daysFromCivil(year, month, day) == days)
            }
            #expect(FHIRDate.iso(0) == "1970-01-01T00:00:00Z")
            #expect(FHIRDate.iso(-1) == "1969-12-31T23:59:59Z")
            #expect(FHIRDate.iso(1_600_000_000) == "2020-09-13T12:26:40Z")
        }

        @Test func textSearchFormIgnoresCaseAndAccents() {
            #expect(FHIRText.normalize("Núñez") == "nunez")
            #expect(FHIRText.normalize("ZOË O'Hara") == "zoe o'hara")
            #expect(FHIRText.normalize("Margie619") == "margie619")
        }
    }
}
