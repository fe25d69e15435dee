import BedsideCore
import Foundation

/// One synthetic patient's life in the record: demographics, yearly check-ups with vitals and labs,
/// chronic conditions diagnosed at a visit and treated from then on, acute illnesses, allergies
/// and vaccines.
///
/// Values follow the disease: a diabetic's HbA1c climbs before diagnosis, drops on metformin and
/// drifts up again; blood pressure falls on lisinopril; LDL falls on atorvastatin; creatinine rises
/// with chronic kidney disease and eGFR is computed from it (MDRD).
struct SyntheticPatient {
    typealias Catalog = SyntheticCatalog

    private var bundle: SyntheticBundle
    private var random: SplitMix64 {
        get { bundle.random }
        set { bundle.random = newValue }
    }
    let patientID: String
    private let asOf: Int64
    private let birth: Int64
    private let female: Bool

    init(random: SplitMix64, asOf: Int64) {
        var random = random
        patientID = random.uuid()
        self.asOf = asOf
        female = random.chance(0.52)
        let age = random.chance(0.7) ? random.int(40...88) : random.int(20...39)
        birth = asOf - Int64(age * 365 + random.int(0...364)) * 86_400
        bundle = SyntheticBundle(random: random, patientID: patientID)
    }

    /// The patient's transaction Bundle.
    mutating func makeBundle() -> JSONValue {
        addPatient()
        addHistory()
        return bundle.value
    }

    private func age(at time: Int64) -> Double { Double(time - birth) / (365.25 * 86_400) }

    private mutating func addPatient() {
        let given = random.pick(female ? Catalog.femaleGiven : Catalog.maleGiven)
        let middle = random.pick(female ? Catalog.femaleGiven : Catalog.maleGiven)
        let family = random.pick(Catalog.family)
        let place = random.pick(Catalog.places)
        let birthDay = FHIRDate.iso(birth).prefix(10)
        bundle.add(
            "Patient",
            [
                "identifier": .array([
                    .object([
                        "system": .string(Catalog.mrnSystem),
                        "value": .string("BS\(random.int(100_000...999_999))"),
                        "type": SyntheticBundle.concept(
                            system: "http://terminology.hl7.org/CodeSystem/v2-0203",
                            code: "MR",
                            display: "Medical Record Number"
                        ),
                    ])
                ]),
                "name": .array([
                    .object(["use": .string("official"), "family": .string(family), "given": .array([.string(given), .string(middle)])])
                ]),
                "gender": .string(female ? "female" : "male"),
                "birthDate": .string(String(birthDay)),
                "telecom": .array([
                    .object([
                        "system": .string("phone"), "value": .string("555-\(random.int(100...999))-\(random.int(1000...9999))"),
                        "use": .string("home"),
                    ])
                ]),
                "address": .array([
                    .object([
                        "line": .array([.string("\(random.int(1...999)) \(random.pick(Catalog.streets))")]),
                        "city": .string(place.city),
                        "state": .string(place.state),
                        "postalCode": .string(place.postalCode),
                        "country": .string("US"),
                    ])
                ]),
            ],
            id: patientID
        )
    }

    /// The yearly check-up dates: up to eight years back, never before the 18th birthday.
    private mutating func visitTimes() -> [Int64] {
        let first = max(birth + Int64(18 * 365) * 86_400, asOf - Int64(8 * 365) * 86_400)
        var times: [Int64] = []
        var time = first + Int64(random.int(0...200)) * 86_400
        while time < asOf - 7 * 86_400 {
            times.append(time - time % 86_400 + Int64(random.int(8 * 60...16 * 60)) * 60)
            time += Int64(random.int(330...400)) * 86_400
        }
        return times
    }

    private mutating func addHistory() {
        let visits = visitTimes()
        guard !visits.isEmpty else { return }
        let ageNow = age(at: asOf)
        // When (as a visit index) each chronic condition is diagnosed; nil means never.
        func diagnosis(_ probability: Double) -> Int? {
            random.chance(probability) ? random.int(0...(visits.count - 1)) : nil
        }
        let hypertension = diagnosis(ageNow >= 40 ? 0.45 : 0.1)
        let hyperlipidemia = diagnosis(ageNow >= 40 ? 0.35 : 0.08)
        let diabetes = diagnosis(ageNow >= 35 ? 0.22 : 0.04)
        let asthma = diagnosis(0.08)
        let copd = ageNow >= 50 ? diagnosis(0.07) : nil
        let ckd = (diabetes != nil || hypertension != nil) && ageNow >= 55 ? diagnosis(0.25) : nil
        let prediabetic = diabetes == nil && random.chance(0.2)

        var model = SyntheticPhysiology(random: &random, female: female, diabetic: diabetes != nil, prediabetic: prediabetic)
        var obese = false
        for (index, time) in visits.enumerated() {
            let encounter = bundle.encounter(Catalog.checkUp, start: time)
            let onHypertensionDrug = hypertension.map { index > $0 } ?? false
            let onStatin = hyperlipidemia.map { index > $0 } ?? false
            let onMetformin = diabetes.map { index > $0 } ?? false
            let kidneyDisease = ckd.map { index >= $0 } ?? false
            let years = Double(index)

            for (code, at, drugs) in [
                (Catalog.hypertension, hypertension, [Catalog.lisinopril]),
                (Catalog.hyperlipidemia, hyperlipidemia, [Catalog.atorvastatin]),
                (Catalog.diabetes, diabetes, [Catalog.metformin]),
                (Catalog.asthma, asthma, [Catalog.albuterol, Catalog.fluticasone]),
                (Catalog.copd, copd, [Catalog.albuterol]),
                (Catalog.ckd, ckd, []),
            ] where at == index {
                bundle.condition(code, encounter: encounter, onset: time)
                for drug in drugs {
                    bundle.medication(drug, encounter: encounter, authored: time, active: true, reason: code)
                }
            }
            if prediabetic && index == 0 {
                bundle.condition(Catalog.prediabetes, encounter: encounter, onset: time)
            }

            // Vital signs, every visit.
            let pressure = model.bloodPressure(random: &random, hypertensive: hypertension != nil, treated: onHypertensionDrug)
            bundle.observation(
                Catalog.bloodPressure,
                category: "vital-signs",
                value: nil,
                components: [(Catalog.systolic, pressure.systolic), (Catalog.diastolic, pressure.diastolic)],
                encounter: encounter,
                at: time
            )
            bundle.observation(
                Catalog.heartRate,
                category: "vital-signs",
                value: model.heartRate(random: &random),
                encounter: encounter,
                at: time
            )
            let weight = model.weight(random: &random)
            bundle.observation(Catalog.weight, category: "vital-signs", value: weight, encounter: encounter, at: time)
            if index == 0 {
                bundle.observation(Catalog.height, category: "vital-signs", value: model.height, encounter: encounter, at: time)
            }
            let bmi = model.bmi(weight: weight)
            bundle.observation(Catalog.bmi, category: "vital-signs", value: bmi, encounter: encounter, at: time)
            if bmi >= 30 && !obese {
                obese = true
                bundle.condition(Catalog.obesity, encounter: encounter, onset: time)
            }

            // Laboratory results.
            let labTime = time + 20 * 60
            let glycemic = diabetes != nil || prediabetic
            let hba1c = model.hba1c(random: &random, visit: index, diagnosedAt: diabetes, treated: onMetformin, years: years)
            if glycemic || index % 3 == 0 {
                bundle.observation(Catalog.hba1c, category: "laboratory", value: hba1c, encounter: encounter, at: labTime)
            }
            bundle.observation(
                Catalog.glucose,
                category: "laboratory",
                value: SyntheticPhysiology.round(28.7 * hba1c - 46.7 + random.noise(10), 0),
                encounter: encounter,
                at: labTime
            )
            if hyperlipidemia != nil || (ageNow >= 40 && index % 2 == 0) {
                let ldl = model.ldl(random: &random, hyperlipidemic: hyperlipidemia.map { index >= $0 } ?? false, treated: onStatin)
                bundle.observation(Catalog.ldl, category: "laboratory", value: ldl, encounter: encounter, at: labTime)
            }
            if hypertension != nil || diabetes != nil || kidneyDisease || index % 3 == 0 {
                let creatinine = model.creatinine(random: &random, kidneyDisease: kidneyDisease, years: years)
                bundle.observation(Catalog.creatinine, category: "laboratory", value: creatinine, encounter: encounter, at: labTime)
                let egfr = SyntheticPhysiology.egfr(creatinine: creatinine, age: age(at: time), female: female)
                bundle.observation(Catalog.egfr, category: "laboratory", value: egfr, encounter: encounter, at: labTime)
            }

            addVaccines(at: time, visit: index, encounter: encounter)
        }
        addAcuteIllnesses(between: visits[0], and: asOf)
        addAllergies(recorded: visits[0])
    }

    private mutating func addVaccines(at time: Int64, visit: Int, encounter: String) {
        if random.chance(0.7) { bundle.immunization(Catalog.influenza, encounter: encounter, at: time) }
        if visit == 0 && random.chance(0.3) { bundle.immunization(Catalog.tetanus, encounter: encounter, at: time) }
        let age = age(at: time)
        if age >= 65 && age < 66.2 { bundle.immunization(Catalog.pneumococcal, encounter: encounter, at: time) }
        if age >= 50 && age < 51.2 { bundle.immunization(Catalog.zoster, encounter: encounter, at: time) }
    }

    private mutating func addAcuteIllnesses(between start: Int64, and end: Int64) {
        for _ in 0..<random.int(0...3) {
            let (code, duration) = random.pick(Catalog.acute)
            let span = max(0, Int((end - start) / 86_400) - 1)
            let onset = start + Int64(random.int(0...span)) * 86_400 + Int64(random.int(8 * 60...18 * 60)) * 60
            let encounter = bundle.encounter(Catalog.symptomVisit, start: onset, reason: code)
            let resolved = onset + Int64(random.int(duration)) * 86_400
            bundle.condition(code, encounter: encounter, onset: onset, abatement: resolved < asOf ? resolved : nil)
            if random.chance(0.6) {
                bundle.medication(Catalog.acetaminophen, encounter: encounter, authored: onset, active: false, reason: code)
            }
            bundle.observation(
                Catalog.heartRate,
                category: "vital-signs",
                value: SyntheticPhysiology.round(random.double(78...102), 0),
                encounter: encounter,
                at: onset
            )
        }
    }

    private mutating func addAllergies(recorded: Int64) {
        let count = random.chance(0.25) ? (random.chance(0.3) ? 2 : 1) : 0
        var chosen = Set<Int>()
        while chosen.count < count { chosen.insert(random.int(0...(Catalog.allergies.count - 1))) }
        for index in chosen.sorted() {
            let (code, category, criticality) = Catalog.allergies[index]
            bundle.allergy(code, category: category, criticality: criticality, recorded: recorded)
        }
    }
}
