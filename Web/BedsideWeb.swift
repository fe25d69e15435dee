public import Foundation

/// Where the browser UI's files are: the `public/` folder of `Web/`, shipped with the
/// executable as a SwiftPM resource bundle.
///
/// It only locates the folder; reading and serving the files is the server's job.
public enum WebAssets {
    /// The folder holding `index.html` and everything it loads, or nil when the resource
    /// bundle was not shipped next to the executable.
    public static var directory: URL? {
        Bundle.module.url(forResource: "public", withExtension: nil)
    }
}
