"""FHIR systems and codes HSSK speaks, defined once: the app's export writes them and the
server's intake reads them."""

from __future__ import annotations

SYSTEM_CCCD = "https://hssk.vn/fhir/sid/cccd"
SYSTEM_BHYT = "https://hssk.vn/fhir/sid/bhyt"
# The kind of visit, for sources that send Encounters (the export writes it too).
SYSTEM_ENCOUNTER_TYPE = "https://hssk.vn/fhir/CodeSystem/encounter-type"
# Tags what a city system sent with the name it is shown under.
SYSTEM_SOURCE = "https://hssk.vn/fhir/CodeSystem/source"
LOINC = "http://loinc.org"
SYSTEM_ICD10 = "http://hl7.org/fhir/sid/icd-10"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
# measurement → (LOINC code, display, UCUM unit)
LOINC_CODES: dict[str, tuple[str, str, str]] = {
    "height_cm": ("8302-2", "Body height", "cm"),
    "weight_kg": ("29463-7", "Body weight", "kg"),
    "bmi": ("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2"),
    "pulse_bpm": ("8867-4", "Heart rate", "/min"),
    "glucose_mmol_l": ("15074-8", "Glucose [Moles/volume] in Blood", "mmol/L"),
    "waist_cm": ("8280-0", "Waist Circumference at umbilicus by Tape measure", "cm"),
}
BLOOD_PRESSURE_PANEL = "85354-9"
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"
ENCOUNTER_TYPES = ("periodic_checkup", "school_health_check", "outpatient", "inpatient")
