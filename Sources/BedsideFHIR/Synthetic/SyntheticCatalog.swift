/// The codes and names synthetic patients are made of: SNOMED CT, RxNorm, LOINC with UCUM units, CVX.
enum SyntheticCatalog {
    struct Code {
        let system: String
        let code: String
        let display: String
    }

    static let snomed = "http://snomed.info/sct"
    static let rxnorm = "http://www.nlm.nih.gov/research/umls/rxnorm"
    static let loinc = "http://loinc.org"
    static let cvx = "http://hl7.org/fhir/sid/cvx"
    static let ucum = "http://unitsofmeasure.org"
    static let mrnSystem = "urn:oid:2.16.840.1.113883.19.5"

    static func sct(_ code: String, _ display: String) -> Code { Code(system: snomed, code: code, display: display) }
    static func rx(_ code: String, _ display: String) -> Code { Code(system: rxnorm, code: code, display: display) }
    static func vaccine(_ code: String, _ display: String) -> Code { Code(system: cvx, code: code, display: display) }

    // Chronic conditions.
    static let hypertension = sct("38341003", "Hypertension")
    static let diabetes = sct("44054006", "Diabetes mellitus type 2")
    static let prediabetes = sct("15777000", "Prediabetes")
    static let hyperlipidemia = sct("55822004", "Hyperlipidemia")
    static let asthma = sct("195967001", "Asthma")
    static let copd = sct("13645005", "Chronic obstructive pulmonary disease")
    static let ckd = sct("433144002", "Chronic kidney disease stage 3")
    static let obesity = sct("162864005", "Body mass index 30+ - obesity")

    // Acute conditions, each with how many days it lasts.
    static let acute: [(Code, days: ClosedRange<Int>)] = [
        (sct("10509002", "Acute bronchitis"), 7...21),
        (sct("444814009", "Viral sinusitis"), 7...14),
        (sct("195662009", "Acute viral pharyngitis"), 5...10),
    ]

    // Medications.
    static let lisinopril = rx("314076", "lisinopril 10 MG Oral Tablet")
    static let amlodipine = rx("197361", "amlodipine 5 MG Oral Tablet")
    static let metformin = rx("860975", "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet")
    static let atorvastatin = rx("259255", "atorvastatin 80 MG Oral Tablet")
    static let albuterol = rx("745679", "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler")
    static let fluticasone = rx("895994", "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler")
    static let acetaminophen = rx("313782", "acetaminophen 325 MG Oral Tablet")

    // Encounter types.
    static let checkUp = sct("162673000", "General examination of patient (procedure)")
    static let symptomVisit = sct("185345009", "Encounter for symptom")

    // Allergies: the code, the category and the criticality.
    static let allergies: [(Code, category: String, criticality: String)] = [
        (sct("91935009", "Allergy to peanuts"), "food", "high"),
        (sct("300913006", "Shellfish allergy"), "food", "high"),
        (rx("7980", "penicillin G"), "medication", "high"),
        (rx("1191", "aspirin"), "medication", "low"),
        (sct("232350006", "House dust mite allergy"), "environment", "low"),
        (sct("300916003", "Latex allergy"), "environment", "high"),
    ]

    // Vaccines.
    static let influenza = vaccine("140", "Influenza, seasonal, injectable, preservative free")
    static let tetanus = vaccine("113", "Td (adult) preservative free")
    static let pneumococcal = vaccine("133", "Pneumococcal conjugate PCV 13")
    static let zoster = vaccine("187", "zoster vaccine recombinant")

    /// An observation code with its UCUM unit.
    struct Measure {
        let code: String
        let display: String
        let unit: String
    }

    static let bloodPressure = Measure(code: "85354-9", display: "Blood pressure panel with all children optional", unit: "")
    static let systolic = Measure(code: "8480-6", display: "Systolic blood pressure", unit: "mm[Hg]")
    static let diastolic = Measure(code: "8462-4", display: "Diastolic blood pressure", unit: "mm[Hg]")
    static let heartRate = Measure(code: "8867-4", display: "Heart rate", unit: "/min")
    static let weight = Measure(code: "29463-7", display: "Body weight", unit: "kg")
    static let height = Measure(code: "8302-2", display: "Body height", unit: "cm")
    static let bmi = Measure(code: "39156-5", display: "Body mass index (BMI) [Ratio]", unit: "kg/m2")
    static let hba1c = Measure(code: "4548-4", display: "Hemoglobin A1c/Hemoglobin.total in Blood", unit: "%")
    static let glucose = Measure(code: "2339-0", display: "Glucose [Mass/volume] in Blood", unit: "mg/dL")
    static let ldl = Measure(code: "18262-6", display: "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay", unit: "mg/dL")
    static let creatinine = Measure(code: "2160-0", display: "Creatinine [Mass/volume] in Serum or Plasma", unit: "mg/dL")
    static let egfr = Measure(
        code: "33914-3",
        display: "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)",
        unit: "mL/min/{1.73_m2}"
    )

    // Names and places.
    static let femaleGiven = [
        "Mary", "Linda", "Renée", "Zoë", "Aisha", "Mei", "Sofía", "Grace", "Hannah", "Olivia", "Margaret", "Chloé", "Priya", "Ingrid",
        "Fatima", "Emma", "Lucía", "Ruth", "Naomi", "Yuki",
    ]
    static let maleGiven = [
        "James", "Robert", "José", "Michael", "Ahmed", "Wei", "Liam", "André", "Samuel", "David", "Noah", "Mateo", "Ravi", "Thomas",
        "Omar", "Lars", "Daniel", "Hiroshi", "Kwame", "Peter",
    ]
    static let family = [
        "Smith", "Johnson", "García", "Müller", "Nguyen", "Okafor", "Peña", "O'Brien", "Kowalski", "Chen", "Núñez", "Patel", "Rossi",
        "Andersson", "Dubois", "Kim", "Haddad", "Schmidt", "Williams", "Brown", "Lefèvre", "Santos", "Ivanova", "Murphy", "Tanaka",
    ]
    static let places: [(city: String, state: String, postalCode: String)] = [
        ("Springfield", "MA", "01103"), ("Worcester", "MA", "01608"), ("Lowell", "MA", "01852"), ("Cambridge", "MA", "02139"),
        ("Quincy", "MA", "02169"), ("Salem", "MA", "01970"), ("Pittsfield", "MA", "01201"), ("Framingham", "MA", "01702"),
    ]
    static let streets = [
        "Maple Street", "Oak Avenue", "Elm Street", "Cedar Lane", "Pine Road", "Harbor Way", "Mill Street", "Hillside Drive",
    ]
}
