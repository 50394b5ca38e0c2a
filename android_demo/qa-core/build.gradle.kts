// Plain Java 17, no Android classes and no dependencies, so `run-tests.sh` (javac + JUnit) and Gradle build
// the same sources: src/main/java and src/test/java.
plugins {
    `java-library`
}

// `--release 17` instead of a toolchain: any JDK >= 17 (Android Studio bundles 21) compiles the same bytecode
// and API level without Gradle having to find or download a JDK 17.
tasks.withType<JavaCompile>().configureEach {
    options.release.set(17)
    options.encoding = "UTF-8"
}

dependencies {
    testImplementation("junit:junit:4.13.2")
}

tasks.test {
    // The golden vectors written by `pocketbert golden` (CONTRACTS.md §4); missing vectors fail the test.
    systemProperty("pocketbert.golden.dir", rootProject.projectDir.resolve("../tests/golden").canonicalPath)
    // The Swift core's character tables, which the generated Java tables must equal (UnicodeTablesTest).
    systemProperty("pocketbert.swift.tables",
        rootProject.projectDir.resolve("../ios_demo/QACore/Sources/QACore/UnicodeTables.swift").canonicalPath)
}
