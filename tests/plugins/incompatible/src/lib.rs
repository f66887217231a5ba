//! A judge built against a contract version the host does not speak.

wit_bindgen::generate!({
    inline: r#"
        package proctor:plugin@9.0.0;

        interface grader {
            check: func(task: string) -> string;
        }

        world judge {
            export grader;
        }
    "#,
});

struct Future;

impl exports::proctor::plugin::grader::Guest for Future {
    fn check(task: String) -> String {
        task
    }
}

#[cfg(target_arch = "wasm32")]
export!(Future);
