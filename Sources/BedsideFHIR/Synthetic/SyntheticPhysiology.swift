import Foundation

/// The hidden state behind one synthetic patient's measurements, and how it moves visit to visit.
struct SyntheticPhysiology {
    let height: Double
    private var weightNow: Double
    private let restingRate: Double
    private let a1cBase: Double
    private let ldlBase: Double
    private let creatinineBase: Double

    init(random: inout SplitMix64, female: Bool, diabetic: Bool, prediabetic: Bool) {
        height = Self.round(female ? random.double(152...175) : random.double(165...192), 1)
        let bmi = diabetic ? random.double(26...38) : random.double(19...33)
        weightNow = bmi * (height / 100) * (height / 100)
        restingRate = random.double(60...84)
        a1cBase = diabetic ? random.double(7.2...8.8) : (prediabetic ? random.double(5.8...6.3) : random.double(4.8...5.6))
        ldlBase = random.double(85...130)
        creatinineBase = female ? random.double(0.6...0.95) : random.double(0.75...1.15)
    }

    mutating func weight(random: inout SplitMix64) -> Double {
        weightNow += random.noise(1.5) + 0.3
        return Self.round(weightNow, 1)
    }

    func bmi(weight: Double) -> Double { Self.round(weight / ((height / 100) * (height / 100)), 1) }

    func heartRate(random: inout SplitMix64) -> Double { Self.round(restingRate + random.noise(4), 0) }

    func bloodPressure(random: inout SplitMix64, hypertensive: Bool, treated: Bool) -> (systolic: Double, diastolic: Double) {
        let (systolic, diastolic): (Double, Double) =
            switch (hypertensive, treated) {
            case (true, false): (148, 93)
            case (true, true): (133, 84)
            default: (118, 76)
            }
        return (Self.round(systolic + random.noise(7), 0), Self.round(diastolic + random.noise(5), 0))
    }

    /// Before diagnosis a diabetic's HbA1c climbs towards the diagnostic value; metformin lowers it
    /// by about 0.7 points, after which it drifts up by about 0.15 a year.
    func hba1c(random: inout SplitMix64, visit: Int, diagnosedAt: Int?, treated: Bool, years: Double) -> Double {
        let value: Double
        if let diagnosedAt {
            let sinceDiagnosis = Double(visit - diagnosedAt)
            value =
                visit < diagnosedAt
                ? max(5.7, a1cBase + 0.35 * sinceDiagnosis)
                : (treated ? a1cBase - 0.7 + 0.15 * sinceDiagnosis : a1cBase)
        } else {
            value = a1cBase + 0.03 * years
        }
        return Self.round(value + random.noise(0.12), 1)
    }

    func ldl(random: inout SplitMix64, hyperlipidemic: Bool, treated: Bool) -> Double {
        let value = hyperlipidemic ? (treated ? ldlBase * 0.85 : ldlBase + 50) : ldlBase
        return Self.round(value + random.noise(8), 0)
    }

    func creatinine(random: inout SplitMix64, kidneyDisease: Bool, years: Double) -> Double {
        let value = kidneyDisease ? creatinineBase + 0.7 + 0.06 * years : creatinineBase + 0.01 * years
        return Self.round(value + random.noise(0.05), 2)
    }

    /// eGFR by the four-variable MDRD equation (the LOINC code names it).
    static func egfr(creatinine: Double, age: Double, female: Bool) -> Double {
        let value = 175 * pow(creatinine, -1.154) * pow(age, -0.203) * (female ? 0.742 : 1)
        return round(min(value, 120), 0)
    }

    static func round(_ value: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }
}
