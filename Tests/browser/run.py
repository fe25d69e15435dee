"""Runs the browser tests against the already-built .build/debug/bedside (builds nothing).

    python3 Tests/browser/run.py [-v] [unittest names]
Set BEDSIDE_BROWSER_FAKE_MODEL=1 to answer with the scripted model of fake_model.py instead
of the server's default
(FAKE_MODEL_DELTA_SECONDS sets its pace, default 0.06 s per word).
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import BINARY  # noqa: E402

if not os.access(BINARY, os.X_OK):
    sys.exit(f"error: {BINARY} is missing: run swift build first")


class CountingResult(unittest.TextTestResult):
    """Counts the tests that passed (a class skipped in setUpClass, as test_auth.py without
    glewlwyd, is one skip and runs no test, so passes are not what is left of testsRun) and
    times each test."""

    passed = 0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.durations = {}

    def startTest(self, test):
        self.durations[test.id()] = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.durations[test.id()] = time.monotonic() - self.durations[test.id()]

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed += 1


started = time.monotonic()
loader = unittest.TestLoader()
names = [a for a in sys.argv[1:] if not a.startswith("-")]
suite = loader.loadTestsFromNames(names) if names else loader.discover(os.path.dirname(os.path.abspath(__file__)), pattern="test_*.py")
result = unittest.TextTestRunner(verbosity=2, resultclass=CountingResult).run(suite)
slowest = sorted(result.durations.items(), key=lambda item: -item[1])[:5]
print("slowest: " + ", ".join(f"{name.split('.')[-1]} {seconds:.1f} s" for name, seconds in slowest))
print(f"browser tests took {time.monotonic() - started:.1f} s")
failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
print(f"browser: {result.passed} passed, {failed} failed, {len(result.skipped)} skipped")
sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
