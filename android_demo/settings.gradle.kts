// pocketbert Android demo: the Kotlin app (:app) on LiteRT and its plain-Java QA core (:qa-core).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google() // com.google.ai.edge.litert lives on Google Maven
        mavenCentral()
    }
}

rootProject.name = "pocketbert-android-demo"
include(":app", ":qa-core")
