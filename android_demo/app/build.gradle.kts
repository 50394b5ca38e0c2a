import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

// The LiteRT runtime that runs what pocketbert's converter writes (Python side: ai-edge-litert 2.3.0,
// litert-torch 0.10). Older runtimes (tflite 2.14 / org.tensorflow:tensorflow-lite) reject its op versions.
val litertVersion = "2.3.0"

android {
    namespace = "dev.pocketbert.demo"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.pocketbert.demo"
        minSdk = 24 // what the LiteRT 2.3.0 AARs declare
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        buildConfigField("String", "LITERT_VERSION", "\"$litertVersion\"")
        ndk {
            abiFilters += listOf("arm64-v8a", "x86_64")
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    buildFeatures {
        buildConfig = true
    }

    // Stored uncompressed so LiteRT's Model.load(assets, …) gets the bytes without inflating them (it then copies
    // them into native memory: the model is not mmapped, see README).
    androidResources {
        noCompress += "tflite"
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

}

// Kotlin 2.x: compilerOptions replaces the deprecated android { kotlinOptions { } } block.
kotlin {
    compilerOptions {
        jvmTarget.set(JvmTarget.JVM_17)
    }
}

dependencies {
    implementation(project(":qa-core"))
    implementation("com.google.ai.edge.litert:litert:$litertVersion")
    implementation("com.google.ai.edge.litert:litert-gpu:$litertVersion")
    implementation("androidx.activity:activity-ktx:1.9.3")
    implementation("androidx.lifecycle:lifecycle-runtime-ktx:2.8.7")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
}
