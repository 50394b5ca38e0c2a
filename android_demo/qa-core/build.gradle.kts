// Plain Java 17, no Android classes and no dependencies, so `run-tests.sh` (javac + JUnit) and Gradle build
// the same sources: src/main/java and src/test/java.
plugins {
    `java-library`
}

java {
    toolchain {
        languageVersion.set(JavaLanguageVersion.of(17))
    }
}

dependencies {
    testImplementation("junit:junit:4.13.2")
}

tasks.test {
    // The golden vectors written by `pocketbert golden` (CONTRACTS.md §4); missing vectors fail the test.
    systemProperty("pocketbert.golden.dir", rootProject.projectDir.resolve("../tests/golden").canonicalPath)
}
